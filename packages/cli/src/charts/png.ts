/**
 * SVG -> PNG through @resvg/resvg-js, a registry package that ships its renderer as a prebuilt binary.
 * It is optional: when the binary cannot load on this platform the CLI writes the SVGs only.
 */
type Renderer = (svg: string) => Uint8Array;

let renderer: Promise<Renderer | null> | undefined;

async function loadRenderer(): Promise<Renderer | null> {
  try {
    const { Resvg } = await import("@resvg/resvg-js");
    return (svg) =>
      new Resvg(svg, {
        background: "#ffffff",
        fitTo: { mode: "zoom", value: 2 },
        font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
      })
        .render()
        .asPng();
  } catch {
    return null;
  }
}

/** The PNG bytes of an SVG, or null when no renderer is available. */
export async function svgToPng(svg: string): Promise<Uint8Array | null> {
  renderer ??= loadRenderer();
  const render = await renderer;
  if (!render) return null;
  try {
    return render(svg);
  } catch {
    return null;
  }
}
