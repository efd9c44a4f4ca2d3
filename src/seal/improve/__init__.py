"""Self-improvement: selection of the best samples, fine-tuning, guards, the iteration loop."""
