"""Every event has a time limit, so one user cannot hold a worker forever. One name per kind of event."""

QUICK_S = 30  # redraws, sketch scores, small uploads: well under a second normally
STANDARD_S = 60  # one model call on one input (generate, denoise, attention)
LONG_S = 120  # many model calls (quality measurement, exports, a live run's stream)
PUSH_S = 300  # an upload to the Hugging Face Hub
TRAINING_S = 600  # a transfer-learning training run; the best models so far are kept when it is cut
