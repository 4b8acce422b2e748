"""The peer's train step (forward + backward + Adam) and forward on the `matched` workload.

Usage: peer_step.py THREADS DIM REPS -> one JSON line {step_ms, fwd_ms, peak_rss_mb, params}.
The reconstruction target is 2 x 8 x 8 pooled frames a chunk, as ours. The log-mel is folded outside the model: the peer reads `audio_time_dim_per_timechunk` (4) both as
the number of chunks and as the columns a chunk, so its log-mel has 16 columns (4 a chunk) in
patches of 16 bins x 1 column: 16 audio tokens a chunk as ours (whose patches are 32 bins x 4 of its
128 columns; only the patch embedding's few MFLOP differ). Columns are interleaved here so that the
peer's '(t tc)' split gives each chunk its own contiguous columns.
"""
import json, resource, sys, time
threads, dim, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
import torch
torch.set_num_threads(threads)
torch.set_num_interop_threads(threads)
from mirasol_pytorch import Mirasol

torch.manual_seed(0)
B, T, FRAMES, HW, MEL, COLS = 2, 4, 32, 64, 64, 16
model = Mirasol(
    dim=dim, num_text_tokens=256, video_image_size=HW, video_frames_per_timechunk=FRAMES // T,
    audio_freq_dim=MEL, audio_time_dim_per_timechunk=T, audio_patch_size=(16, 1), video_patch_size=(8, 8),
    video_recon_patch_size=(8, 4), audio_encoder=dict(dim=dim, depth=2), video_encoder=dict(dim=dim, depth=2),
    text_max_seq_len=32, encoder_depth=2, decoder_depth=2, combiner_depth=2, combiner_output_num_tokens=8,
    attn_dim_head=64, attn_heads=4, flash_attn=False,
)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
video = torch.rand(B, 3, FRAMES, HW, HW)
mel = torch.rand(B, MEL, COLS)
# [B, F, (T c)] chunk-major -> [B, F, (c T)]: the peer's '(t tc)' split then gives chunk tc its columns
audio = mel.reshape(B, MEL, T, COLS // T).transpose(2, 3).reshape(B, MEL, COLS)
text = torch.randint(1, 256, (B, 32))

def step():
    opt.zero_grad(set_to_none=True)
    loss = model(audio=audio, video=video, text=text)
    loss.backward()
    opt.step()
    return loss.item()

def fwd():
    with torch.no_grad():
        return float(model(audio=audio, video=video, text=text))

med = lambda xs: sorted(xs)[len(xs) // 2]
def timed(f):
    f(); f()
    xs = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); xs.append(1000 * (time.perf_counter() - t0))
    return med(xs)

out = {"step_ms": timed(step), "fwd_ms": timed(fwd),
       "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
       "params": sum(p.numel() for p in model.parameters())}
print(json.dumps(out))
