/** What a notebook is made of, for scripts/build_notebooks.ts. */
export type CellSpec =
  | { readonly kind: "markdown"; readonly source: string }
  | {
    readonly kind: "code";
    readonly source: string;
    /** MIME types the executed cell must show (e.g. "image/svg+xml"). */
    readonly expect?: readonly string[];
    /** Strings the executed cell must print (stdout or text/plain, ANSI stripped). */
    readonly expectText?: readonly string[];
  };

export type NotebookSpec = { readonly file: string; readonly cells: readonly CellSpec[] };

/** Source text without the template's first newline and trailing blank space. */
const tidy = (s: string) => s.replace(/^\n/, "").trimEnd();

export const md = (source: string): CellSpec => ({ kind: "markdown", source: tidy(source) });

export const code = (
  source: string,
  checks: { expect?: readonly string[]; expectText?: readonly string[] } = {},
): CellSpec => ({ kind: "code", source: tidy(source), ...checks });

export const SVG = "image/svg+xml";
/** Every picture also comes as PNG, for frontends that do not show SVG (untrusted JupyterLab, VS Code, GitHub). */
export const PNG = "image/png";
export const HTML = "text/html";
export const VEGA_LITE = "application/vnd.vegalite.v5+json";
