"""Child of tests/export/tf_driver_flags_test.ts: runs driver.cli() on each argv of the JSON list in
argv[1] in this one process (TensorFlow is imported once) and prints, per row, the exit code and stderr."""
import contextlib
import io
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../export/tf"))
import driver  # noqa: E402
import _driver_weights as weights  # noqa: E402

rows = json.loads(sys.argv[1])
out = []
for argv in rows:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = driver.cli(argv)
        except SystemExit as e:  # argparse's own exits (--help)
            code = e.code
    out.append({"code": code, "stderr": err.getvalue()})

# --out holding another config's checkpoint (written by the driver's own weight writer)
import numpy as np  # noqa: E402
import tempfile  # noqa: E402

d = tempfile.mkdtemp()
weights.write_weights(d, {"w": np.ones([2], np.float32)}, 3, {"name": "tiny", "v": 1}, [0, 3])
dead = os.path.join(d, "checkpoint.json.tmp-999999-0badf00d")
open(dead, "w").write("partial")
clash = []
for config, overwrite in [({"name": "tiny", "v": 1}, False), ({"name": "other"}, False), ({"name": "other"}, True)]:
    try:
        weights.check_out(d, config, overwrite)
        clash.append("ok")
    except weights.OutClash as e:
        clash.append(str(e))
weights.write_weights(d, {"w": np.ones([2], np.float32)}, 4, {"name": "tiny", "v": 1}, [0, 4])
print(json.dumps({"rows": out, "clash": clash, "dead_temp_left": os.path.exists(dead)}))
