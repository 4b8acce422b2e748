import assert from "node:assert/strict";
import fc from "fast-check";
import {
  collapseOf,
  collapseTable,
  detailTable,
  type GridRow,
  type SeedResult,
  separated,
  spreadOf,
  summaryTable,
} from "../../bench/avqa/ablation_table.ts";

const result = (seed: number, acc: number): SeedResult => ({
  seed,
  byType: { first_colour: acc, pitch: acc, colour_at_tone: acc, turned_before_tone: acc },
  mean: acc,
  steps: 900,
  stepsPerSecond: 10,
});

Deno.test("spreadOf: the mean and the sample (n - 1) standard deviation, against a direct oracle", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 8 }),
      (xs) => {
        const s = spreadOf(xs);
        const mean = xs.reduce((a, b) => a + b) / xs.length;
        let ss = 0;
        for (const x of xs) ss += (x - mean) * (x - mean);
        assert.ok(Math.abs(s.mean - mean) < 1e-12);
        assert.ok(Math.abs(s.sd - Math.sqrt(ss / (xs.length - 1))) < 1e-12);
        assert.equal(s.n, xs.length);
      },
    ),
    { seed: 19, numRuns: 200 },
  );
  assert.deepEqual(spreadOf([0.5]), { mean: 0.5, sd: 0, n: 1 });
  assert.equal(spreadOf([0.2, 0.4, 0.6]).sd.toFixed(6), "0.200000");
});

Deno.test("separated: only when the means differ by more than both spreads, and never from one seed", () => {
  assert.equal(separated(spreadOf([0.9, 0.91, 0.92]), spreadOf([0.5, 0.52, 0.51])), true);
  assert.equal(separated(spreadOf([0.9, 0.5, 0.7]), spreadOf([0.6, 0.62, 0.64])), false);
  assert.equal(separated(spreadOf([0.9]), spreadOf([0.1, 0.12])), false);
});

Deno.test("the summary says which rows separate from the full model, from the seeds on disk", () => {
  const rows: GridRow[] = [
    { name: "full", about: "base", seeds: [result(0, 0.9), result(1, 0.92), result(2, 0.91)] },
    { name: "worse", about: "clearly lower", seeds: [result(0, 0.5), result(1, 0.52), result(2, 0.51)] },
    { name: "noisy", about: "overlapping", seeds: [result(0, 0.6), result(1, 0.95), result(2, 0.99)] },
    { name: "single", about: "one seed", seeds: [result(0, 0.1)] },
  ];
  const t = summaryTable(rows).split("\n");
  assert.match(t[2], /^\| full \| 0,1,2 \| 91\.0% ± 1\.0 /);
  assert.match(t[3], /\| worse \|.*\| worse \| clearly lower \|$/);
  assert.match(t[4], /\| noisy \|.*\| within spread \| overlapping \|$/);
  assert.match(t[5], /\| single \| 0 \| 10\.0% \|.*\| n < 2 \|/);
  assert.equal(detailTable(rows).split("\n").length, 2 + 10); // every (row, seed)
});

Deno.test("collapseOf averages the last quarter of the logged diagnostics and keeps the first step; none logged -> undefined", () => {
  const line = (step: number, v: number) => ({
    step,
    diag_latent: v,
    diag_latent_shuffled: 2 * v,
    diag_x_rank: 10 * v,
    diag_x_spread_samples: v / 2,
    diag_x_spread_tokens: v / 4,
  });
  const lines = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => line(s * 50, s));
  const c = collapseOf(lines)!;
  assert.equal(c.latent, 7.5); // steps 350, 400
  assert.equal(c.latent_shuffled, 15);
  assert.equal(c.first.x_rank, 10);
  assert.equal(collapseOf([{ step: 1, total: 3 }]), undefined);
  const table = collapseTable([{ name: "full", about: "", seeds: [{ ...result(0, 0.9), collapse: c }] }]);
  assert.match(
    table.split("\n")[2],
    /^\| full \| 1 \| 7\.50 \(1\.00\) \| 15\.0 \(2\.00\) \| 75\.0 \(10\.0\) \|/,
  );
});

Deno.test("deno task ablations --table-only rebuilds the tables from the result files on disk and lists what is missing", async () => {
  const out = await Deno.makeTempDir({ prefix: "ablations_table_" });
  try {
    for (const [row, seed, acc] of [["full", 0, 0.9], ["full", 1, 0.92], ["m1", 2, 0.5]] as const) {
      await Deno.mkdir(`${out}/tf_steps900/${row}/seed${seed}`, { recursive: true });
      await Deno.writeTextFile(
        `${out}/tf_steps900/${row}/seed${seed}/result.json`,
        JSON.stringify(result(seed, acc)),
      );
    }
    await Deno.mkdir(`${out}/tf_steps900/m2/seed0`, { recursive: true }); // a killed run: no result.json
    const p = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "bench/avqa/ablations.ts",
        "--table-only",
        "--out",
        out,
        "--rows",
        "full,m1,m2",
        "--seeds",
        "0,1",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(p.stdout);
    assert.equal(p.code, 0, new TextDecoder().decode(p.stderr));
    assert.match(text, /\| full \| 0,1 \| 91\.0% ± 1\.4 /);
    assert.match(text, /\| m1 \| 2 \| 50\.0% /);
    assert.match(text, /not run yet: m1\/seed0, m1\/seed1, m2\/seed0, m2\/seed1/);
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "bench/avqa/ablations.ts", "--table-only", "--out", out, "--rows", "full,nope"],
      stderr: "piped",
    }).output();
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /no ablation row 'nope'.*rows: full, video_only/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
