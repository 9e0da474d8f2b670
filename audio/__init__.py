"""Sound in and out. Inside Lantern, audio is 16 kHz mono int16; these modules convert at the edges."""

RATE_HZ = 16000
"""Sample rate inside the pipeline."""
FRAME_SAMPLES = 480
"""30 ms frames: a size webrtcvad accepts."""
