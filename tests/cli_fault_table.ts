/**
 * The fault table of the three command lines: `deno task train` (train/cli.ts), the export CLI
 * (export/cli.ts) and the TensorFlow driver (export/tf/driver.py). Each row is an argv and what the
 * CLI must answer: its exit code (2 usage, 1 failure) and a pattern of its one line on stderr.
 * tests/cli_fault_table_test.ts runs the rows as real processes; tests/export/cli_test.ts checks the
 * export usage rows against parseExportArgs and tests/export/tf_driver_flags_test.ts runs every
 * driver row in one TensorFlow process.
 */
import { tiny } from "../model/config.ts";

export type CliName = "train" | "export" | "driver";
export type CliFault = {
  readonly cli: CliName;
  readonly what: string;
  readonly argv: readonly string[];
  readonly code: 1 | 2;
  readonly message: RegExp;
};

/** Writes the bad inputs the rows name into `dir` (a fresh temp folder). */
export function writeCliFixtures(dir: string): void {
  const json = (name: string, value: unknown) =>
    Deno.writeTextFileSync(`${dir}/${name}`, JSON.stringify(value));
  const { audio: _, ...noAudio } = tiny;
  const { width, ...noWidth } = tiny;
  json("bad.json", { name: "x", widht: 1 });
  json("no_audio.json", noAudio); // a whole section missing
  json("misspelt.json", { ...noWidth, widht: width }); // a misspelt key among valid ones
  Deno.writeTextFileSync(`${dir}/not_json.json`, "{ name: tiny");
  Deno.writeTextFileSync(`${dir}/a_file`, "not a folder");
  for (const d of ["empty", "user", "bad_ckpt", "bad_run/ckpt", "sm", "data"]) {
    Deno.mkdirSync(`${dir}/${d}`, { recursive: true });
  }
  Deno.writeTextFileSync(`${dir}/user/notes.txt`, "mine");
  Deno.writeTextFileSync(`${dir}/bad_ckpt/checkpoint.json`, '{"prefix": 3');
  Deno.writeTextFileSync(`${dir}/bad_run/ckpt/checkpoint.json`, '{"prefix": 3');
  Deno.writeTextFileSync(`${dir}/sm/saved_model.pb`, ""); // only its presence is checked before TF loads it
}

export function trainFaults(dir: string): CliFault[] {
  const ok = ["--config", "tiny", "--data", "synthetic", "--out", `${dir}/train_out`, "--steps", "1"];
  const withConfig = (c: string) => ["--config", c, ...ok.slice(2)];
  const withData = (d: string) => [...ok.slice(0, 2), "--data", d, ...ok.slice(4)];
  const row = (what: string, argv: string[], code: 1 | 2, message: RegExp): CliFault => ({
    cli: "train",
    what,
    argv,
    code,
    message,
  });
  return [
    row(
      "--steps ten",
      [...ok.slice(0, -1), "ten"],
      2,
      /Cannot use --steps "ten": expected a positive integer/,
    ),
    row("no --config", ok.slice(2), 2, /Cannot train: --config is required/),
    row("an unknown flag", [...ok, "--bogus"], 2, /Unknown option '--bogus'/),
    row("--lr fast", [...ok, "--lr", "fast"], 2, /--lr "fast": expected a non-negative number/),
    row("--lr 0", [...ok, "--lr", "0"], 2, /Cannot use --lr 0: expected a positive number/),
    row("--batch 0", [...ok, "--batch", "0"], 2, /--batch "0": expected a positive integer/),
    row(
      "--backend tpu",
      [...ok, "--backend", "tpu"],
      2,
      /--backend "tpu": expected one of wasm, cpu, webgpu/,
    ),
    row("a stray argument", [...ok, "stray"], 2, /Cannot use argument "stray": flags only/),
    row("--stage warmup", [...ok, "--stage", "warmup"], 2, /Cannot use --stage "warmup": expected one of/),
    row("an unknown preset", withConfig("huge"), 2, /Cannot use --config "huge": expected tiny, small/),
    row("a config file that is not JSON", withConfig(`${dir}/not_json.json`), 2, /not_json\.json': not JSON/),
    row(
      "a config file missing a section",
      withConfig(`${dir}/no_audio.json`),
      2,
      /no_audio\.json': audio is missing/,
    ),
    row(
      "a config file with a misspelt key",
      withConfig(`${dir}/misspelt.json`),
      2,
      /widht is not a config field \(did you mean 'width'\?\)/,
    ),
    row(
      "a missing config file",
      withConfig(`${dir}/none.json`),
      2,
      /Cannot read --config file '.*none\.json'/,
    ),
    row("--data synthetic:0", withData("synthetic:0"), 2, /the pool needs at least one clip/),
    row("--data synthetic:many", withData("synthetic:many"), 2, /expected synthetic or synthetic:N/),
    row("a missing --data folder", withData(`${dir}/nope`), 2, /not a folder of \*\.tfrecord shards/),
    // failures (1): the flags are well-formed, what they name is not usable
    row("--data a folder without shards", withData(`${dir}/empty`), 1, /no \*\.shards\.json manifest/),
    row(
      "paper3b at batch 8 on wasm",
      [...withConfig("paper3b"), "--batch", "8"],
      1,
      /Cannot train config 'paper3b' with batch 8: it needs about [\d.]+ GiB .* more than the 4\.0 GiB the wasm backend/,
    ),
    row(
      "--init-from a folder without a checkpoint",
      [...ok, "--init-from", `${dir}/empty`],
      1,
      /not found \(no checkpoint was committed here\)/,
    ),
    row(
      "--resume over a corrupt checkpoint.json",
      [...ok.slice(0, 4), "--out", `${dir}/bad_run`, "--steps", "1", "--resume"],
      1,
      /bad_run\/ckpt\/checkpoint\.json': not JSON/,
    ),
    row(
      "--out a file",
      [...ok.slice(0, 4), "--out", `${dir}/a_file`, "--steps", "1"],
      1,
      /Cannot train into '.*a_file': it is a file, not a folder/,
    ),
  ];
}

export function exportFaults(dir: string): CliFault[] {
  const base = ["--config", "tiny", "--out", `${dir}/out`];
  const row = (what: string, argv: string[], code: 1 | 2, message: RegExp): CliFault => ({
    cli: "export",
    what,
    argv,
    code,
    message,
  });
  return [
    row("--batch 0", [...base, "--batch", "0"], 2, /--batch must be a positive integer, got '0'/),
    row("--text-length=0", [...base, "--text-length=0"], 2, /--text-length must be a positive integer/),
    row("an unknown flag", [...base, "--bogus"], 2, /Unknown option '--bogus'/),
    row(
      "--params inputs with a checkpoint",
      [...base, "--params", "inputs", "--checkpoint", `${dir}/none`],
      2,
      /--checkpoint cannot be used with --params inputs/,
    ),
    row(
      "a missing --checkpoint",
      [...base, "--checkpoint", `${dir}/none`],
      2,
      /--checkpoint '.*none' is not a checkpoint folder \(not found\)/,
    ),
    row(
      "an unknown preset",
      ["--config", "huge", "--out", `${dir}/out`],
      2,
      /--config must name one of .* or a \.json file, got 'huge'/,
    ),
    row(
      "a config file with a misspelt key",
      ["--config", `${dir}/bad.json`, "--out", `${dir}/out`],
      2,
      /widht is not a config field \(did you mean 'width'\?\)/,
    ),
    row(
      "a config file missing a section",
      ["--config", `${dir}/no_audio.json`, "--out", `${dir}/out`],
      2,
      /no_audio\.json': audio is missing/,
    ),
    row(
      "--frames that the chunks do not divide",
      [...base, "--frames", "7"],
      2,
      /video\.chunks = 2 must divide video\.frames = 7/,
    ),
    row(
      "--format onnx",
      [...base, "--format", "onnx"],
      2,
      /--format must be one of savedmodel, graphmodel, got 'onnx'/,
    ),
    // failures (1)
    row(
      "--checkpoint a folder without a checkpoint",
      [...base, "--checkpoint", `${dir}/empty`],
      1,
      /empty\/checkpoint\.json': not found \(no checkpoint was committed here\)/,
    ),
    row(
      "--checkpoint with a corrupt checkpoint.json",
      [...base, "--checkpoint", `${dir}/bad_ckpt`],
      1,
      /bad_ckpt\/checkpoint\.json': not JSON/,
    ),
    row(
      "--out a folder with a user's file",
      ["--config", "tiny", "--out", `${dir}/user`],
      1,
      /^Cannot write export to .*\/user: the folder is not empty \(pass --overwrite to replace it\)$/,
    ),
    row(
      "--out a file",
      ["--config", "tiny", "--out", `${dir}/a_file`],
      1,
      /a_file: it is a file \(pass --overwrite/,
    ),
  ];
}

export function driverFaults(dir: string): CliFault[] {
  const sm = `${dir}/sm`;
  const ok = ["--savedmodel", sm, "--data", `${dir}/data`, "--out", `${dir}/driver_out`, "--steps", "2"];
  const row = (what: string, argv: string[], code: 1 | 2, message: RegExp): CliFault => ({
    cli: "driver",
    what,
    argv,
    code,
    message,
  });
  return [
    row("--lr -1", [...ok, "--lr", "-1"], 2, /--lr must be a positive number, got -1/),
    row("--lr nan", [...ok, "--lr", "nan"], 2, /--lr must be a positive number, got nan/),
    row("--steps 0", [...ok.slice(0, -1), "0"], 2, /--steps must be >= 1, got 0/),
    row("--steps -3", [...ok.slice(0, -1), "-3"], 2, /--steps must be >= 1, got -3/),
    row("--batch 0", [...ok, "--batch", "0"], 2, /--batch must be >= 1, got 0/),
    row(
      "--weight-decay -1",
      [...ok, "--weight-decay", "-1"],
      2,
      /--weight-decay must be a non-negative number/,
    ),
    row("--beta1 1", [...ok, "--beta1", "1"], 2, /--beta1 must be in \[0, 1\)/),
    row("--eps 0", [...ok, "--eps", "0"], 2, /--eps must be a positive number/),
    row("--keep-checkpoints 0", [...ok, "--keep-checkpoints", "0"], 2, /--keep-checkpoints must be >= 1/),
    row(
      "a missing data folder",
      [...ok.slice(0, 2), "--data", `${dir}/nope`, ...ok.slice(4)],
      2,
      /--data .*nope does not exist/,
    ),
    row(
      "a folder without saved_model.pb",
      ["--savedmodel", dir, ...ok.slice(2)],
      2,
      /is not a SavedModel folder/,
    ),
    row("a missing --config file", [...ok, "--config", `${dir}/none.json`], 2, /--config .* is not a file/),
    row("an unknown flag", [...ok, "--bogus"], 2, /unrecognized arguments: --bogus/),
    row("a missing required flag", ok.slice(2), 2, /the following arguments are required: --savedmodel/),
    row(
      "--init-from a folder without weights",
      [...ok, "--init-from", `${dir}/empty`],
      2,
      /Cannot --init-from '.*empty': no checkpoint\.json there/,
    ),
    // failure (1): the flags are fine, the SavedModel is not
    row("an empty saved_model.pb", ok, 1, /^error: \w+Error: .*SavedModel/),
  ];
}
