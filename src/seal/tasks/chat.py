"""Instruct models prompted through their chat template (``model.chat_template``,
``--chat-template``), as lm-eval's ``--apply_chat_template`` does.

The task's whole prompt, worked examples included, becomes one user turn (a task's
description, MMLU's subject header, a system turn before it, dropped where the template has
no system role, as the harness does) and the model answers as the assistant: the text the
sampler, the log-likelihood scorer, the search and the fine-tuning examples continue is the
template's rendering of those turns with the assistant's header after them. Stop strings,
answer extraction and verification are the task's own. A base model has no template (the
embedded one included): asking for it is a one-line error, not a silent fallback to plain
text.
"""

from __future__ import annotations

from jinja2 import TemplateError
from transformers import PreTrainedTokenizerBase

from seal.errors import SealError
from seal.tasks.base import Problem, Task, TaskView

NOT_CHAT = ("humaneval",)
"""Tasks whose prompt is code the model continues: a chat turn would ask for an answer in
prose and fences, which their extraction does not read (lm-eval keeps separate
``*_instruct`` tasks for that)."""


def has_chat_template(tokenizer: PreTrainedTokenizerBase) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def check_chat(tokenizer: PreTrainedTokenizerBase, model: str, tasks: list[str]) -> None:
    """One line when the chat template is asked for where it cannot be used."""
    if not has_chat_template(tokenizer):
        raise SealError(
            f"--chat-template (model.chat_template): model {model} has no chat template "
            "(its tokenizer_config.json sets no chat_template: a base model); drop the option"
        )
    for name in tasks:
        if name.partition("/")[0] in NOT_CHAT:
            raise SealError(
                f"--chat-template (model.chat_template) does not apply to {name}: its prompt "
                "is code the model continues; evaluate it without the option"
            )


def chat_text(
    tokenizer: PreTrainedTokenizerBase, text: str, system: str = "", adds_bos: bool | None = None
) -> str:
    """``text`` as the user's turn (after ``system``'s turn, if any), rendered with the
    assistant's header after it. A template without a system role (it raises on one) gets
    the user's turn alone, as lm-eval does. A template that writes the BOS token itself
    loses it here when the tokenizer adds one when encoding (``adds_bos``: known already,
    or None to find out), so the model sees one BOS."""
    user = [{"role": "user", "content": text}]  # as it is: lm-eval strips nothing either
    attempts = [[{"role": "system", "content": system}, *user], user] if system else [user]
    for turns in attempts:  # with the system turn, then without it
        try:
            rendered = tokenizer.apply_chat_template(
                turns, tokenize=False, add_generation_prompt=True
            )
            break
        except TemplateError as err:
            if turns is user:  # the model's own template is broken: one line
                raise SealError(f"the model's chat template fails on a user turn: {err}") from None
    assert isinstance(rendered, str)
    bos = tokenizer.bos_token
    if adds_bos is None:
        adds_bos = _adds_bos(tokenizer)
    if bos and rendered.startswith(bos) and adds_bos:
        rendered = rendered[len(bos) :]
    return rendered


def _adds_bos(tokenizer: PreTrainedTokenizerBase) -> bool:
    ids = tokenizer("x", add_special_tokens=True)["input_ids"]
    return tokenizer.bos_token_id is not None and ids[:1] == [tokenizer.bos_token_id]


class ChatPrompt(TaskView):
    """``task`` whose every prompt goes through ``tokenizer``'s chat template."""

    def __init__(self, task: Task, tokenizer: PreTrainedTokenizerBase):
        super().__init__(task)
        self._tokenizer = tokenizer
        self._adds_bos = _adds_bos(tokenizer)  # once, not per prompt

    def prompt(self, problem: Problem, shots: int | None = None) -> str:
        # not given: the task's own default (BBH's is 3 shots, not 0)
        text = self._task.prompt(problem) if shots is None else self._task.prompt(problem, shots)
        describe = getattr(self._task, "description", None)
        system = describe(problem) if callable(describe) else ""
        if system and text.startswith(system):
            return chat_text(self._tokenizer, text[len(system) :], system, self._adds_bos)
        return chat_text(self._tokenizer, text, adds_bos=self._adds_bos)


def with_chat(task: Task, tokenizer: PreTrainedTokenizerBase, on: bool, model: str = "") -> Task:
    """``task`` prompted through the chat template when ``on``; ``task`` itself otherwise."""
    if not on:
        return task
    check_chat(tokenizer, model or getattr(tokenizer, "name_or_path", "?"), [task.name])
    return ChatPrompt(task, tokenizer)  # type: ignore[return-value]
