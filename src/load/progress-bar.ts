/** A progress line: redrawn in place on a terminal, a plain line every few seconds otherwise. */
export function progressReporter(stream: NodeJS.WriteStream): (completed: number, fraction: number) => void {
  let lastPlain = 0;
  return (completed, fraction) => {
    const pct = Math.min(100, Math.floor(fraction * 100));
    if (stream.isTTY) {
      const width = 30;
      const filled = Math.round((width * pct) / 100);
      stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(pct).padStart(3)}% ${completed} calls`);
      if (pct >= 100) stream.write('\n');
      return;
    }
    const now = Date.now();
    if (now - lastPlain >= 5000) {
      lastPlain = now;
      stream.write(`progress: ${pct}% ${completed} calls\n`);
    }
  };
}
