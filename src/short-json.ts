/**
 * A value from a file, quoted for a one-line message: JSON-like, at most `max` characters, nested at most 3 deep.
 * JSON.stringify would be unbounded (a 10,000-element list quoted whole) and throws a RangeError on a value nested
 * a few thousand deep, which JSON.parse reads without complaint.
 */
export function shortJson(value: unknown, max = 60): string {
  const text = quote(value, 0, max + 1);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function quote(v: unknown, depth: number, budget: number): string {
  if (typeof v === "string") return JSON.stringify(v.length > budget ? v.slice(0, budget) : v);
  if (typeof v !== "object" || v === null) return String(v);
  if (depth >= 3) return Array.isArray(v) ? "[...]" : "{...}";
  const parts: string[] = [];
  let used = 2;
  const entries: [string | undefined, unknown][] = Array.isArray(v)
    ? v.map((x) => [undefined, x])
    : Object.entries(v as Record<string, unknown>);
  for (const [key, x] of entries) {
    if (used > budget) {
      parts.push("...");
      break;
    }
    const part =
      (key === undefined ? "" : `${JSON.stringify(key.slice(0, budget))}:`) + quote(x, depth + 1, budget - used);
    parts.push(part);
    used += part.length + 1;
  }
  return Array.isArray(v) ? `[${parts.join(",")}]` : `{${parts.join(",")}}`;
}
