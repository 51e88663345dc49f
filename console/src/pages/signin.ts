import { auth } from '../auth.js';
import { field, h } from '../dom.js';
import { Feedback } from '../feedback.js';
import type { Page } from '../router.js';

/**
 * Shown instead of any page while authentication is on and nobody is
 * signed in: pick the tenant (when the Tenant Manager lists several) and go
 * to its OpenID provider. `failure` is what went wrong on the way back.
 */
export function signInPage(failure: string | null): Page {
  const feedback = new Feedback();
  const tenants = auth.tenants;
  const select = h(
    'select',
    { name: 'tenant' },
    tenants.map((t, i) => h('option', { value: String(i) }, `${t.tenantId} (${t.issuer})`)),
  );
  const button = h('button', { type: 'submit', disabled: tenants.length === 0 }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'signin-heading' },
    tenants.length > 1 ? field('Tenant', select) : null,
    tenants.length === 1 ? h('p', null, `Tenant ${tenants[0]!.tenantId}, at ${tenants[0]!.issuer}.`) : null,
    tenants.length === 0
      ? h('p', null, 'No tenant issuer is configured (CEX_OAUTH_ISSUER or TENANT_MANAGER_URL): nobody can sign in.')
      : null,
    h('div', { class: 'actions' }, button, feedback.element),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const tenant = tenants[Number(select.value)] ?? tenants[0];
    if (!tenant) return;
    button.disabled = true;
    feedback.ok('Going to the sign-in page…');
    auth.signIn(tenant, location.pathname + location.search).catch((err: unknown) => {
      button.disabled = false;
      feedback.error(err);
    });
  });
  if (failure) feedback.error(new Error(failure));
  else if (auth.reason) feedback.error(new Error(auth.reason));
  const element = h(
    'div',
    { class: 'page narrow' },
    h('h1', { id: 'signin-heading' }, 'Sign in'),
    h('p', null, 'CEX checks who you are at your tenant’s sign-in provider.'),
    form,
  );
  return { title: 'Sign in', element };
}
