/**
 * Notebook display helpers. Each returns a plain object that the Deno Jupyter kernel renders
 * (`Symbol.for("Jupyter.display")`) and that scripts write with `toFile(path)`.
 *
 * @example
 * ```ts
 * import { showMask } from "./mod.ts";
 * const causal = [[1, 0], [1, 1]];
 * const figure = showMask(causal, { chunks: 2 });
 * figure.svg.startsWith("<svg"); // true
 * ```
 */
export { type Displayable, JUPYTER_DISPLAY, type MimeBundle, type SvgFigure } from "./display.ts";
export { VizInputError } from "./errors.ts";
export { settleJupyterOutputs, type SettleOptions } from "./jupyter_settle.ts";
export {
  type LossChart,
  lossChart,
  type LossChartOptions,
  type MetricsRow,
  VEGA_LITE_MIME,
  type VegaLiteSpec,
} from "./loss_chart.ts";
export { encodePng, type Raster } from "./png.ts";
export { type FramesOptions, showFrames } from "./show_frames.ts";
export { type InfluenceOptions, showInfluence } from "./show_influence.ts";
export { type MaskOptions, showMask } from "./show_mask.ts";
export {
  type ParamLeaf,
  type ParamNode,
  type ParamsView,
  type ParamTree,
  showParams,
} from "./show_params.ts";
export { showSpectrogram, type SpectrogramOptions } from "./show_spectrogram.ts";
export type { ArrayInput, FlatArray, TensorLike } from "./tensor_input.ts";
