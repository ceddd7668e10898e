/**
 * Opens a local HTML file in headless Chromium (Debian's `chromium`, driven by playwright-core) and reports what
 * a reader's browser would see: console messages, page errors, every request, and the figures' drawn marks.
 */
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

/** The browser: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Why Chromium cannot be used here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return `no executable ${CHROMIUM} (install Debian's chromium: apt-get install chromium, or set CHROMIUM_PATH)`;
  }
}

/** The flags the page is opened with, besides --headless and the fresh --user-data-dir that playwright adds. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface DrawnFigure {
  id: string;
  /** Data marks (vega's `g.role-mark > path`) with a non-empty path and a non-zero box on the page. */
  marks: number;
  /** The legend's labels, in order. */
  legend: string[];
  width: number;
  height: number;
}

export interface PageVisit {
  console: { type: string; text: string }[];
  pageErrors: string[];
  /** Every URL the page asked for, the page itself included. */
  requests: string[];
  failedRequests: string[];
  figures: DrawnFigure[];
  browserVersion: string;
}

/** Loads `file`, collects what happened, and writes a full-page PNG to `screenshot`. */
export async function visitInChromium(file: string, screenshot: string): Promise<PageVisit> {
  const userDataDir = mkdtempSync(join(tmpdir(), "chromium-profile-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const visit: PageVisit = {
      console: [],
      pageErrors: [],
      requests: [],
      failedRequests: [],
      figures: [],
      browserVersion: "",
    };
    visit.browserVersion = context.browser()?.version() ?? "";
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => visit.console.push({ type: m.type(), text: m.text() }));
    page.on("pageerror", (e) => visit.pageErrors.push(e.message));
    page.on("request", (r) => visit.requests.push(r.url()));
    page.on("requestfailed", (r) => visit.failedRequests.push(`${r.url()} (${r.failure()?.errorText ?? "?"})`));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    visit.figures = await page.evaluate(() =>
      [...document.querySelectorAll("figure")].map((f) => {
        const svg = f.querySelector("svg");
        const box = svg?.getBoundingClientRect();
        const drawn = [...f.querySelectorAll("svg g.role-mark > path")].filter((p) => {
          const b = p.getBoundingClientRect();
          return (p.getAttribute("d") ?? "").length > 0 && b.width > 0 && b.height > 0;
        });
        return {
          id: f.id,
          marks: drawn.length,
          legend: [...f.querySelectorAll("svg g.role-legend-label text")].map((t) => t.textContent ?? ""),
          width: box?.width ?? 0,
          height: box?.height ?? 0,
        };
      }),
    );
    await page.screenshot({ path: screenshot, fullPage: true });
    return visit;
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
