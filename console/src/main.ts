import './styles.css';
import { setApiBase } from './api.js';
import { auth } from './auth.js';
import { h, replace } from './dom.js';
import { applicationPage } from './pages/application.js';
import { batchPage } from './pages/batch.js';
import { endpointPage } from './pages/endpoint.js';
import { signInPage } from './pages/signin.js';
import { startPage } from './pages/start.js';
import { taskPage } from './pages/task.js';
import { show, startRouter, type Page } from './router.js';
import type { ConsoleConfig } from './types.js';

let signInFailure: string | null = null;

function notFound(): Page {
  return {
    title: 'Not found',
    element: h(
      'div',
      { class: 'page' },
      h('h1', null, 'Not found'),
      h('p', null, 'The console has no such page. ', h('a', { href: './' }, 'Go to the start page'), '.'),
    ),
  };
}

function route(segments: string[]): Page {
  if (auth.required && !auth.token()) return signInPage(signInFailure);
  const [first, second, ...rest] = segments;
  if (rest.length > 0) return notFound();
  if (first === undefined) return startPage();
  if (first === 'batch' && second === undefined) return batchPage();
  if (second === undefined) return notFound();
  if (first === 'endpoints') return endpointPage(second);
  if (first === 'applications') return applicationPage(second);
  if (first === 'tasks') return taskPage(second);
  return notFound();
}

/** The header's right side: who is signed in, and the way out. */
function showSession(): void {
  const box = document.getElementById('session')!;
  const tenant = auth.signedInTenant();
  if (!auth.required) replace(box, h('span', { class: 'muted' }, 'Authentication off'));
  else if (!tenant) replace(box);
  else
    replace(
      box,
      h('span', null, `Tenant ${tenant.tenantId}`),
      h('button', { type: 'button', class: 'link', onClick: () => auth.signOut() }, 'Sign out'),
    );
}

async function main(): Promise<void> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json answered ${res.status}`);
  const config = (await res.json()) as ConsoleConfig;
  setApiBase(config.apiBase);
  auth.configure(config.auth);
  try {
    await auth.completeSignIn();
  } catch (err) {
    signInFailure = (err as Error).message;
  }
  auth.onChange(() => {
    signInFailure = null;
    showSession();
    show();
  });
  showSession();
  startRouter((segments) => route(segments));
}

main().catch((err: unknown) => {
  replace(
    document.getElementById('main')!,
    h('h1', null, 'The console could not start'),
    h('p', { role: 'alert' }, (err as Error).message),
  );
});
