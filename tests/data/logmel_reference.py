"""TensorFlow reference for data/logmel.ts (run by logmel_test.ts).

Usage: logmel_reference.py SAMPLES.f32 OUT_DIR '{"sampleRate":16000,"window":400,...}'
Reads float32 little-endian samples, writes OUT_DIR/logmel.f32 [F, Mb] and OUT_DIR/mel.f32 [K, Mb]
computed with tf.signal.stft + tf.signal.linear_to_mel_weight_matrix + log, as the tf.signal guide does.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

samples_path, out_dir, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
x = tf.constant(np.fromfile(samples_path, dtype="<f4"))
stft = tf.signal.stft(x, frame_length=options["window"], frame_step=options["hop"],
                      fft_length=options["fftLength"], window_fn=tf.signal.hann_window, pad_end=False)
magnitude = tf.abs(stft)  # [F, K]
mel = tf.signal.linear_to_mel_weight_matrix(
    num_mel_bins=options["melBins"], num_spectrogram_bins=options["fftLength"] // 2 + 1,
    sample_rate=options["sampleRate"], lower_edge_hertz=options["fMin"], upper_edge_hertz=options["fMax"])
log_mel = tf.math.log(tf.tensordot(magnitude, mel, 1) + options["logOffset"])  # [F, Mb]
log_mel.numpy().astype("<f4").tofile(os.path.join(out_dir, "logmel.f32"))
mel.numpy().astype("<f4").tofile(os.path.join(out_dir, "mel.f32"))
print(json.dumps({"columns": int(log_mel.shape[0]), "melBins": int(log_mel.shape[1])}))
