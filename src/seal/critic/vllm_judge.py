"""The critic's verdicts from the vLLM engine (``model.backend: vllm``). NOT RUN YET (see
``seal.generation.vllm_engine``).

p(good) comes from ``prompt_logprobs`` of the judge prompt followed by each label token:
sigmoid(logp(good) - logp(bad)), which equals the HF critic's two-way softmax over the two
label logits (the normaliser cancels). Training never goes through here.
"""

from __future__ import annotations

import math
from pathlib import Path

from peft import PeftModel
from transformers import PreTrainedTokenizerBase

from seal.config import SealConfig
from seal.critic.model import Critic, Verdict, two_way_entropy
from seal.generation.vllm_engine import Engine, VLLMSampler, check, import_vllm
from seal.models import resolve_model_path


class VLLMJudge:
    """The critic's verdicts from the engine: p(good) from the label tokens' log-probs."""

    def __init__(self, engine: Engine, critic: Critic, tokenizer: PreTrainedTokenizerBase):
        self.engine, self.critic, self.tokenizer = engine, critic, tokenizer

    def __call__(self, prompts: list[str]) -> list[Verdict]:
        vllm = import_vllm()
        from vllm.inputs import TokensPrompt

        if not prompts:
            return []
        good, bad = self.critic.labels.good_id, self.critic.labels.bad_id
        keep = self.critic.context - 1  # room for the label token
        requests = []
        for p in prompts:
            ids = self.tokenizer(p, add_special_tokens=True, verbose=False)["input_ids"][-keep:]
            requests += [
                TokensPrompt(prompt_token_ids=ids + [good]),
                TokensPrompt(prompt_token_ids=ids + [bad]),
            ]
        params = vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outs = self.engine.llm.generate(
            requests, params, lora_request=self.engine.adapter(self.critic.adapter), use_tqdm=False
        )
        verdicts = []
        for i in range(0, len(outs), 2):
            lg = outs[i].prompt_logprobs[-1][good].logprob
            lb = outs[i + 1].prompt_logprobs[-1][bad].logprob
            p = 1.0 / (1.0 + math.exp(lb - lg))
            verdicts.append(Verdict(p, two_way_entropy(p)))
        return verdicts


def attach(
    cfg: SealConfig,
    model: PeftModel,
    tokenizer: PreTrainedTokenizerBase,
    critic: Critic,
    workdir: Path,
) -> VLLMSampler:
    """Start the engine (adapter files under ``workdir``), route ``critic``'s scoring to it
    and return the policy sampler."""
    check(cfg)
    engine = Engine(
        resolve_model_path(cfg.model.name),
        model,
        workdir,
        cfg.critic.lora_r,
        cfg.model.dtype,
        cfg.model.vllm_memory,
        cfg.run.seed,
    )
    critic.judge = VLLMJudge(engine, critic, tokenizer)
    return VLLMSampler(engine)
