/**
 * A one-line progress indicator on stderr while the CLI waits, drawn only
 * when stderr is a terminal: scripts and pipes see nothing of it, and
 * stdout stays clean for the result either way.
 */
export interface Spinner {
  /** Replaces the text shown after the spinning mark. */
  update(text: string): void;
  /** Erases the line and stops. */
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function startSpinner(text: string, stream: NodeJS.WriteStream = process.stderr): Spinner {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  let frame = 0;
  let current = text;
  const started = Date.now();
  const draw = () => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${current} (${seconds}s)`);
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    update: (next) => {
      current = next;
    },
    stop: () => {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}
