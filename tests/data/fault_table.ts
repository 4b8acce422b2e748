/**
 * The fault-injection table of data/: bad inputs as users meet them -> the typed error each must
 * give (its tag, and a fragment of its message naming what was wrong). fault_injection_test.ts runs
 * every row as a test; rows with `reference` are malformed tokenizer files that the reference
 * library (tokenizers / sentencepiece) must refuse as well.
 *
 * Classes: corrupt and truncated media, missing streams, bad decode options, wrong JSON types in
 * ffprobe output and annotation rows, paths leading outside the video root, malformed tokenizer
 * files, tokenizer misuse (ids that name no token, text a vocabulary cannot cover), bad writer
 * options and folders a writer must not touch.
 */
import type { FaultCase } from "./_fault_case.ts";
import { mediaFaults } from "./_fault_media.ts";
import { datasetFaults } from "./_fault_datasets.ts";
import { tokenizerFaults } from "./_fault_tokenizers.ts";

export type { FaultCase } from "./_fault_case.ts";

/** Renders the fixtures into `dir` and returns the whole table. */
export function faultTable(dir: string): FaultCase[] {
  return [...mediaFaults(dir), ...datasetFaults(dir), ...tokenizerFaults(dir)];
}
