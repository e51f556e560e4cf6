"""Run options: each documented once, here. The CLI flags are generated from these fields; YAML configs use the
same names; `trl:` in a YAML passes any other trl / transformers config field through untouched."""

from difflib import get_close_matches
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ftdata.core.suggest import did_you_mean

Stage = Literal["sft", "dpo", "kto"]
# trl 1.16's loss types (its configs accept any string and fail at the first step; we check them up front)
DpoLoss = Literal["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
                  "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm"]
KtoLoss = Literal["kto", "apo_zero_unpaired"]
BUNDLED = ("tiny-qwen2", "tiny-llava")  # src/fttrain/assets: the tiny test models, by name


def bundled(name: str) -> Path:
    """A tiny model shipped in the package (src/fttrain/assets; works from a wheel install too)."""
    from importlib import resources

    return Path(str(resources.files("fttrain") / "assets" / name))


class RunSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="Base model: a local HF model folder, or tiny-qwen2 / tiny-llava (the bundled tiny test models, text and vision-language; default: tiny-qwen2).")
    dataset: str | None = Field(None, description="Entry names in the dataset_info.json, comma-separated (default: all local entries of this stage's kind).")
    method: Literal["lora", "qlora", "full", "freeze"] = Field("lora", description="lora, qlora (4/8-bit base + LoRA), full, or freeze (train the last N layers).")
    output_dir: str | None = Field(None, description="Where checkpoints and the final model/adapter go (default: output/<stage>).")
    max_length: int = Field(1024, ge=1, description="Cutoff length in tokens; longer samples follow --overlong.")
    overlong: Literal["split", "truncate", "keep_end", "drop"] = Field("split", description="Samples over --max-length (each counted per dataset): split the budget between prompt and answer (LLaMA-Factory's rule; a cut prompt keeps its end), truncate (keep the start), keep_end (keep the end), or drop them.")
    train_on: Literal["assistant", "all", "last"] = Field("assistant", description="SFT loss on every assistant turn, on all tokens, or on the last assistant turn; message weights override.")
    reasoning: Literal["auto", "content", "drop"] = Field("auto", description="Reasoning in the data: auto renders it through the message key the chat template reads (found by rendering a probe; a run whose data has reasoning and whose template renders none stops), content writes it as a leading <think> block in the answer (LLaMA-Factory's way, for templates that read no key), drop trains the answers without it.")
    reasoning_history: Literal["template", "expand"] = Field("template", description="SFT, for templates that render reasoning only after the last user message (Qwen3, gpt-oss): template trains what the template renders and counts the blocks it drops; expand makes one sample per assistant turn with reasoning, cut after it, earlier turns masked, so every block is trained once, rendered as at inference.")
    val_size: float = Field(0.0, ge=0, description="Fraction (0-1) or count (>=1) of samples held out for evaluation.")
    packing: bool = Field(False, description="Pack SFT samples into --max-length sequences.")
    mix: Literal["concat", "interleave"] = Field("concat", description="How several datasets are combined.")
    mix_probs: str | None = Field(None, description="Interleave probabilities, comma-separated, one per dataset.")
    lora_rank: int = Field(8, ge=1, description="LoRA rank r.")
    lora_alpha: int = Field(16, gt=0, description="LoRA alpha.")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="LoRA dropout.")
    lora_target: str = Field("all-linear", description="LoRA target modules, comma-separated, or all-linear.")
    use_rslora: bool = Field(False, description="Rank-stabilised LoRA scaling.")
    use_dora: bool = Field(False, description="Weight-decomposed LoRA (DoRA).")
    freeze_trainable_layers: int = Field(2, ge=1, description="With --method freeze: how many last layers train.")
    quantization_bit: Literal[4, 8] = Field(4, description="With --method qlora: 4 (nf4, double quant) or 8 bit.")
    learning_rate: float = Field(1e-4, gt=0, description="Peak learning rate.")
    lr_scheduler_type: Literal["cosine", "constant_with_warmup", "linear", "constant"] = Field("cosine", description="Learning-rate schedule.")
    warmup: float = Field(0.03, ge=0, description="Warm-up: a fraction of the steps (< 1) or a number of steps (>= 1).")
    optim: str = Field("adamw_torch", description="Optimizer name as transformers knows it (e.g. paged_adamw_32bit).")
    num_train_epochs: float = Field(1.0, gt=0, description="Epochs (ignored when --max-steps > 0).")
    max_steps: int = Field(-1, ge=-1, description="Total optimizer steps; -1 to use epochs.")
    per_device_train_batch_size: int = Field(2, ge=1, description="Batch size per device.")
    gradient_accumulation_steps: int = Field(1, ge=1, description="Steps to accumulate before an optimizer step.")
    gradient_checkpointing: bool = Field(False, description="Trade compute for memory.")
    bf16: bool | None = Field(None, description="bf16 mixed precision (default: on where the GPU supports it).")
    fp16: bool = Field(False, description="fp16 mixed precision.")
    seed: int = Field(42, description="Random seed.")
    save_steps: int = Field(500, ge=1, description="Checkpoint every N steps.")
    save_total_limit: int = Field(3, ge=1, description="Checkpoints kept in --output-dir (older ones are deleted).")
    logging_steps: int = Field(10, ge=1, description="Log every N steps.")
    resume_from_checkpoint: str | None = Field(None, description="A checkpoint folder; 'last': the newest in --output-dir (an error when there is none); 'auto': the newest, or a fresh start when there is none.")
    merge: bool = Field(False, description="Also save the base model with the LoRA adapter merged in (output_dir/merged).")
    report_to: Literal["none", "tensorboard", "wandb"] = Field("none", description="Experiment tracker.")
    beta: float = Field(0.1, gt=0, description="DPO/KTO beta.")
    dpo_loss_type: DpoLoss = Field("sigmoid", description="DPO loss (trl's loss_type; combine several with trl: {loss_type: [...], loss_weights: [...]}).")
    kto_loss_type: KtoLoss = Field("kto", description="KTO loss (trl's loss_type).")
    desirable_weight: float = Field(1.0, gt=0, description="KTO weight of desirable (label true) samples.")
    undesirable_weight: float = Field(1.0, gt=0, description="KTO weight of undesirable (label false) samples.")
    trust_remote_code: bool = Field(False, description="Allow the model folder's own Python code to run.")
    skip_bad_rows: bool = Field(False, description="Train on the valid rows when some are invalid or the chat template cannot render them (they are counted); default: stop, naming the row.")
    drop_media: bool = Field(False, description="Rows with images, video or audio: train their text only (the <image>/<video>/<audio> placeholders and the media are removed, and counted); default: stop, since a text-only model would learn the placeholders as text and never see the media. A vision-language --model (a folder with its processor) trains rows with images; with one, --drop-media removes only video and audio.")
    allow_duplicates: bool = Field(False, description="Train even when the selected datasets share rows (the same conversation in two entries, e.g. one source converted to two formats, as `ftdata dedup` counts them); default: stop before training with the counts per dataset.")
    max_dropped: float = Field(0.5, ge=0, le=1, description="Stop before training when more than this share of a dataset's samples would not be trained (dropped for length, or left with nothing supervised); 1: train on whatever is left.")
    render_timeout: float = Field(10.0, gt=0, description="Seconds a chat template may take to render one row (a runaway template loop stops there).")
    resize_embeddings: bool = Field(True, description="Grow the embeddings when the tokenizer has more tokens than the model (and train them).")
    chat_template: str | None = Field(None, description="'chatml' or a .jinja file, replacing the tokenizer's template.")
    generate: int = Field(0, ge=0, description="After training, sample this many generations from training prompts.")
    cache: bool = Field(True, description="Reuse the tokenized rows of earlier runs (fttrain prepare) and keep this run's; --no-cache tokenizes every row and writes nothing.")
    cache_dir: str | None = Field(None, description="Where the tokenized cache lives (default: $FTTRAIN_CACHE_DIR, else .fttrain-cache beside the data).")
    workers: int | None = Field(None, ge=1, description="Processes that tokenize rows for the cache (default: all cores; fewer on small jobs).")
    trl: dict[str, Any] = Field(default_factory=dict, description="YAML only: other trl/transformers config fields, passed through.")

    @field_validator("model")
    @classmethod
    def _bundled(cls, model: str | None) -> str | None:
        """The bundled models by name (a folder of that name here wins), so a pip install can name them too."""
        if model in BUNDLED and not Path(model).exists():
            return str(bundled(model))
        return model

    @model_validator(mode="after")
    def _consistent(self) -> "RunSpec":
        if self.max_steps == 0:
            raise ValueError("--max-steps 0 trains nothing: give a positive count, or -1 to use --num-train-epochs")
        if self.reasoning_history == "expand" and self.train_on != "assistant":
            raise ValueError("--reasoning-history expand splits the assistant turns between samples; use it with "
                             "--train-on assistant")
        if self.mix_probs is not None:
            try:
                probs = [float(p) for p in self.mix_probs.split(",")]
            except ValueError:
                raise ValueError(f"--mix-probs {self.mix_probs!r}: give comma-separated numbers, e.g. 0.7,0.3") from None
            if any(p < 0 for p in probs) or not 0.99 <= sum(probs) <= 1.01:
                raise ValueError(f"--mix-probs {self.mix_probs!r}: probabilities are >= 0 and add up to 1")
        return self

    def out_dir(self, stage: Stage) -> Path:
        return Path(self.output_dir or f"output/{stage}")


CLI_FIELDS = [option for option in RunSpec.model_fields if option != "trl"]


class SpecError(ValueError):
    """Options that cannot make a run: one line saying what and how to fix it."""


def load_spec(overrides: dict[str, Any], config: Path | None) -> RunSpec:
    """YAML config (if any) updated by the flags that were given on the command line; SpecError when either is bad."""
    values: dict[str, Any] = {}
    if config is not None:
        values.update(_read_config(config))
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RunSpec.model_validate(values)
    except ValidationError as error:
        raise SpecError(explain(error, config)) from None


def _read_config(config: Path) -> dict[str, Any]:
    from ftdata.io.yamlsafe import YamlError, load_yaml_text

    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"--config {config}: cannot read it ({error})") from None
    try:
        loaded = load_yaml_text(text) or {}
    except YamlError as error:
        raise SpecError(f"--config {config}: {error}") from None
    if not isinstance(loaded, dict):
        raise SpecError(f"--config {config}: a run config is a mapping of option names to values")
    values = {str(k).replace("-", "_"): v for k, v in loaded.items()}
    for key in values:
        if key not in RunSpec.model_fields:
            close = get_close_matches(key, list(RunSpec.model_fields), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "; trl/transformers fields go under 'trl:'"
            raise SpecError(f"--config {config}: unknown option '{key}'{hint}")
    return values


def explain(error: ValidationError, config: Path | None = None) -> str:
    """A pydantic error as one line per bad option: '--save-steps 0: Input should be greater than or equal to 1'."""
    lines = []
    for e in error.errors():
        if not e["loc"]:  # a check across options (model_validator): its message says it all
            lines.append(str(e["msg"]).removeprefix("Value error, "))
            continue
        name = str(e["loc"][0])
        flag = "--" + name.replace("_", "-")
        if e["type"] == "extra_forbidden":
            close = get_close_matches(name, list(RunSpec.model_fields), n=1)
            lines.append(f"unknown option '{name}'" + (f"; did you mean '{close[0]}'?" if close else ""))
        else:
            choices = [str(c) for c in (e.get("ctx") or {}).get("expected_values", ())] or _choices(name)
            hint = did_you_mean(str(e.get("input")), choices) if e["type"] == "literal_error" else ""
            lines.append(f"{flag} {e.get('input')!r}: {e['msg']}{hint}")
    return "; ".join(lines) + (f" (from the flags or --config {config})" if config else "")


def _choices(name: str) -> list[str]:
    """The values a Literal option takes ([] for others)."""
    field = RunSpec.model_fields.get(name)
    base = get_args(field.annotation) if field is not None else ()
    literal = next((a for a in (field.annotation, *base) if get_origin(a) is Literal), None) if field else None
    return [str(v) for v in get_args(literal)] if literal is not None else []


def option(name: str) -> tuple[Any, str]:
    """(the value's Python type, the help text) of one option: its description, its choices, its default."""
    field = RunSpec.model_fields[name]
    annotation: Any = field.annotation
    optional = get_origin(annotation) in (Union, UnionType)
    base = [a for a in get_args(annotation) if a is not type(None)] if optional else [annotation]
    choices = ""
    if get_origin(base[0]) is Literal:
        values = get_args(base[0])
        choices = f" [{'|'.join(map(str, values))}]"
        py_type: Any = type(values[0])
    else:
        py_type = base[0]
    default = "" if field.default in (None, "") else f" (default: {field.default})"
    return py_type, (field.description or "") + choices + default


def options_markdown() -> str:
    """The options as a Markdown table (docs/training-options.md holds a copy; a test checks it)."""
    rows = ["| option | what |", "|---|---|"]
    for name in CLI_FIELDS:
        flag, text = "--" + name.replace("_", "-"), option(name)[1].replace("|", "\\|")
        rows.append(f"| `{flag}` | {text} |")
    return "\n".join(rows) + "\n"
