/**
 * The named benchmark workload `matched`: the work of the PyTorch peer (lucidrains/mirasol-pytorch)
 * in bench/peer/peer_step.py, token for token:
 *   batch 2; 32 frames of 64x64 in T = 4 chunks of K = 8; one tube kind 8x8x8 (64 video tokens a
 *   chunk); log-mel 64 bins, 4 columns a frame, audio patches 4 columns x 32 bins (16 tokens a
 *   chunk); width 256 in 4 heads of 64 (the peer: 252 / 260, its sincos embedding cannot be 256);
 *   depth 2 everywhere; m = 8 Combiner outputs; text 32 tokens over 256 ids.
 */
import { type MirasolConfig, validateConfig } from "../../model/config.ts";
import { wsmall } from "../_wsmall_config.ts";

export const matched: MirasolConfig = validateConfig({
  ...wsmall,
  name: "matched",
  video: { ...wsmall.video, tubes: [{ kernel: [8, 8, 8], stride: [8, 8, 8], offset: [0, 0] }] },
  audio: { columnsPerFrame: 4, melBins: 64, patchColumns: 4, patchBins: 32 },
});

export const MATCHED_BATCH = 2;
export const MATCHED_TEXT = 32;
