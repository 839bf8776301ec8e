/**
 * Fortio's run ID (and -a's file name, ID + ".json"): the local start time as YYYY-MM-DD-HHmmSS, then
 * "_" and the -runid when not 0, then "_" and the labels with every run of other characters than
 * ASCII letters and digits turned into one "_" (none at the end), all cut to 96 characters.
 */
export function fortioRunId(start: Date, runId: number, labels: string): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  let id = `${start.getFullYear()}-${two(start.getMonth() + 1)}-${two(start.getDate())}-${two(start.getHours())}${two(start.getMinutes())}${two(start.getSeconds())}`;
  if (runId !== 0) id += `_${runId}`;
  const words = labels.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (words !== '') id += `_${words}`;
  return id.slice(0, 96);
}
