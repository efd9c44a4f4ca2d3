"""The self-critique reward model: the policy's own base model, judging through a LoRA adapter."""
