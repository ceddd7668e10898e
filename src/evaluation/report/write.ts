/** Writes a rendered report: the HTML page and each figure as an SVG file, every file atomically. */
import { mkdirSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { writeFileAtomic } from "../../io/atomic-write.js";
import type { RenderedReport } from "./index.js";

export interface WriteReportOptions {
  /** The HTML file. */
  out: string;
  /** Folder for the SVG files (created if missing); default: the HTML file's folder. */
  svgDir?: string;
}

/** Writes `<out>` and `<svgDir>/<stem>-<figure>.svg` (stem: out's name without extension); returns the SVG paths. */
export function writeReport(report: RenderedReport, o: WriteReportOptions): string[] {
  const svgDir = o.svgDir ?? dirname(o.out);
  const stem = basename(o.out, extname(o.out));
  mkdirSync(dirname(o.out), { recursive: true });
  mkdirSync(svgDir, { recursive: true });
  const written: string[] = [];
  for (const [key, svg] of Object.entries(report.svgs)) {
    const path = join(svgDir, `${stem}-${key}.svg`);
    writeFileAtomic(path, Buffer.from(svg, "utf8"));
    written.push(path);
  }
  writeFileAtomic(o.out, Buffer.from(report.html, "utf8"));
  return written;
}
