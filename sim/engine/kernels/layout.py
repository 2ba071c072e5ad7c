"""Every index layout of the data plane's arrays, each declared once as a tuple of names.

A kernel reads its arrays through plain integer constants (numba folds a global int into the
code, so a named slot costs nothing); each constant here is looked up by name in its layout, so a
slot's position is written in exactly one place: the order of its tuple. The polars column names
(sim.analysis.metrics, sim.runner) come from the same tuples. The model's parameters and a call's
Draw and Route are named tuples built from their layouts' names, read by attribute (m.deadline_s,
draw.segment). tests/engine/kernels/test_tick_layout.py checks that every name has exactly one
constant (or is read by attribute) and every constant is used.

This module imports nothing but the standard library, so the kernels stay free of pydantic.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable


class Layout:
    """The slots of one array axis: name → position, in the order the names are given."""

    def __init__(self, what: str, names: tuple[str, ...], tail: int = 1) -> None:
        if len(set(names)) != len(names):
            raise ValueError(f"{what}: a name is declared twice")
        self.what = what
        self.names = names
        self._slot = {name: i for i, name in enumerate(names)}
        self.size = len(names) + tail - 1  # the last name may span `tail` slots

    def __getitem__(self, name: str) -> int:
        """The slot of a name (KeyError for a name the layout does not declare)."""
        return self._slot[name]

    def pack(self, values: dict[str, float]) -> list[float]:
        """A row with each named value in its slot and 0.0 in the others."""
        row = [0.0] * self.size
        for name, value in values.items():
            row[self[name]] = float(value)
        return row

    def columns(self, array: object, names: Iterable[str]) -> dict[str, object]:
        """{name: array[..., slot]} for the names given, in their order (frame columns)."""
        return {name: array[..., self[name]] for name in names}  # type: ignore[index]


# a candidate's uniforms: uniforms[i, U_*]; optional latents follow, only for the tables a
# scenario has (their columns are model params col_*): verifier flag and latency, review time and
# correctness, audit, one per secondary output, the teacher check's flag and latency
UNIFORMS = Layout(
    "uniforms",
    ("spacing", "thinning", "segment", "tokens_in", "tokens_out", "correct", "confidence",
     "service", "teacher_latency", "teacher_correct"),
)  # fmt: skip
U_SPACING = UNIFORMS["spacing"]
U_THINNING = UNIFORMS["thinning"]
U_SEGMENT = UNIFORMS["segment"]
U_TOKENS_IN = UNIFORMS["tokens_in"]
U_TOKENS_OUT = UNIFORMS["tokens_out"]
U_CORRECT = UNIFORMS["correct"]
U_CONFIDENCE = UNIFORMS["confidence"]
U_SERVICE = UNIFORMS["service"]
U_TEACHER_LATENCY = UNIFORMS["teacher_latency"]
U_TEACHER_CORRECT = UNIFORMS["teacher_correct"]
BASE_UNIFORMS = UNIFORMS.size

# per-segment counters: out_counts[segment, *]; the names are the timeseries' columns
COUNTS = Layout(
    "counts",
    (
        "calls",
        "student_calls",
        "fallbacks",  # re-routed to the teacher or a human (bypasses included)
        "errors",  # a wrong final answer, whoever gave it
        "silent_failures",  # a wrong student answer returned as a normal answer
        "teacher_errors",  # errors the teacher alone would have made on the same calls
        "student_errors",  # wrong student answers, whatever the router did with them
        "failed",  # no answer: deadline or teacher outage with on_* = "fail"
        "overrides",  # ensemble: the teacher's answer replaced a different student answer
        "slo_met",  # answered within router.deadline_s
        "flags",  # verify: flagged by the verifier or the threshold
        "bypasses",  # sent to the teacher because the student queue was too long
        "abandoned",  # a fallback that missed the deadline
        "teacher_unavailable",  # a teacher call that met an outage
        "human_reviews",
        "audited",  # answered calls a person labelled
        "audited_errors",  # ... whose answer was wrong: what the team can see
        "teacher_checks",  # verify with checks_teacher: the teacher's answers the verifier checked
        "teacher_flags",  # ... and flagged
    ),
)
CALLS = COUNTS["calls"]
STUDENT_CALLS = COUNTS["student_calls"]
FALLBACKS = COUNTS["fallbacks"]
ERRORS = COUNTS["errors"]
SILENT = COUNTS["silent_failures"]
TEACHER_ERRORS = COUNTS["teacher_errors"]
STUDENT_ERRORS = COUNTS["student_errors"]
FAILED = COUNTS["failed"]
OVERRIDES = COUNTS["overrides"]
SLO_MET = COUNTS["slo_met"]
FLAGS = COUNTS["flags"]
BYPASSES = COUNTS["bypasses"]
ABANDONED = COUNTS["abandoned"]
UNAVAILABLE = COUNTS["teacher_unavailable"]
HUMAN_REVIEWS = COUNTS["human_reviews"]
AUDITED = COUNTS["audited"]
AUDITED_ERRORS = COUNTS["audited_errors"]
TEACHER_CHECKS = COUNTS["teacher_checks"]
TEACHER_FLAGS = COUNTS["teacher_flags"]
COUNT_FIELDS = COUNTS.size

# tick-wide sums: out_values[*]; the names are the timeseries' columns where it has them
VALUES = Layout(
    "values",
    (
        "latency_sum_s",
        "wait_sum_s",
        "busy_s",  # student service time inside the horizon (work past it is the backlog)
        "teacher_usd",
        "teacher_only_usd",
        "teacher_calls",
        "tokens_in",
        "tokens_out",
        "sojourn_sum_s",  # time in the student pool (wait + service)
        "verifier_usd",
        "human_usd",
        "answered",  # calls with an answer (the latency histogram's count)
        "teacher_wait_sum_s",  # rate-limit waits
        "human_wait_sum_s",  # review-queue waits
        "latency_max_s",  # the largest latency answered in the tick (the overflow bin's top)
        "first_max_s",  # ... and the largest time to the first answer shown
    ),
)
LATENCY_SUM = VALUES["latency_sum_s"]
WAIT_SUM = VALUES["wait_sum_s"]
BUSY_S = VALUES["busy_s"]
TEACHER_USD = VALUES["teacher_usd"]
TEACHER_ONLY_USD = VALUES["teacher_only_usd"]
TEACHER_CALLS = VALUES["teacher_calls"]
TOKENS_IN = VALUES["tokens_in"]
TOKENS_OUT = VALUES["tokens_out"]
SOJOURN_SUM = VALUES["sojourn_sum_s"]
VERIFIER_USD = VALUES["verifier_usd"]
HUMAN_USD = VALUES["human_usd"]
ANSWERED = VALUES["answered"]
TEACHER_WAIT_SUM = VALUES["teacher_wait_sum_s"]
HUMAN_WAIT_SUM = VALUES["human_wait_sum_s"]
LATENCY_MAX = VALUES["latency_max_s"]
FIRST_MAX = VALUES["first_max_s"]
VALUE_FIELDS = VALUES.size

# a sampled call: out_sample[row, *]; the names are calls.parquet's columns
SAMPLE = Layout(
    "sample",
    ("arrival_s", "segment", "student_correct", "confidence", "fell_back", "final_correct",
     "silent_failure", "queue_wait_s", "latency_s", "teacher_usd", "failed", "first_answer_s",
     "teacher_start_s", "source"),
)  # fmt: skip
SAMPLE_COLUMNS = SAMPLE.names
S_ARRIVAL = SAMPLE["arrival_s"]
S_SEGMENT = SAMPLE["segment"]
S_STUDENT_CORRECT = SAMPLE["student_correct"]
S_CONFIDENCE = SAMPLE["confidence"]
S_FELL_BACK = SAMPLE["fell_back"]
S_FINAL_CORRECT = SAMPLE["final_correct"]
S_SILENT_FAILURE = SAMPLE["silent_failure"]
S_QUEUE_WAIT = SAMPLE["queue_wait_s"]
S_LATENCY = SAMPLE["latency_s"]
S_TEACHER_USD = SAMPLE["teacher_usd"]
S_FAILED = SAMPLE["failed"]
S_FIRST_ANSWER = SAMPLE["first_answer_s"]
S_TEACHER_START = SAMPLE["teacher_start_s"]
S_SOURCE = SAMPLE["source"]

# who gave a call's final answer (the sample's `source`, and a pending call's fallback)
SOURCES = ("student", "teacher", "human", "none")
SOURCE_STUDENT = SOURCES.index("student")
SOURCE_TEACHER = SOURCES.index("teacher")
SOURCE_HUMAN = SOURCES.index("human")
SOURCE_NONE = SOURCES.index("none")

# per-segment parameters: seg_params[segment, *] (distribution ids for the distributions)
SEGMENT = Layout(
    "segment",
    (
        "cum_weight",
        "student_accuracy",
        "teacher_accuracy",
        "threshold",  # -1 when none applies
        "confidence_correct",
        "confidence_wrong",
        "tokens_in",
        "tokens_out",
        "error_correlation",  # ρ of the Gaussian copula between student and teacher errors
        "teacher_z",  # Φ⁻¹(teacher_accuracy): the teacher is right when its latent is below it
    ),
)
SEG_CUM_WEIGHT = SEGMENT["cum_weight"]
SEG_STUDENT_ACCURACY = SEGMENT["student_accuracy"]
SEG_TEACHER_ACCURACY = SEGMENT["teacher_accuracy"]
SEG_THRESHOLD = SEGMENT["threshold"]
SEG_CONF_CORRECT = SEGMENT["confidence_correct"]
SEG_CONF_WRONG = SEGMENT["confidence_wrong"]
SEG_TOKENS_IN = SEGMENT["tokens_in"]
SEG_TOKENS_OUT = SEGMENT["tokens_out"]
SEG_ERROR_CORRELATION = SEGMENT["error_correlation"]
SEG_TEACHER_Z = SEGMENT["teacher_z"]
SEG_FIELDS = SEGMENT.size

# the scenario's models and router, built by name in sim.engine.parameters and handed to the
# kernel as a ModelParams named tuple (read as m.deadline_s, ...). Distribution ids (dist_*), flags
# (0 or 1) and uniform columns (col_*, 0 when absent) are stored as floats.
MODEL = Layout(
    "model",
    (
        "dist_student_service",
        "student_s_per_token",
        "dist_teacher_latency",
        "teacher_s_per_token",
        "usd_per_token_in",
        "usd_per_token_out",
        "verifier_recall",
        "verifier_recall_z",  # Φ⁻¹(recall)
        "verifier_fpr",
        "verifier_rho",
        "verifier_usd_per_call",
        "dist_verifier_latency",
        "on_flag_human",
        "checks_teacher",  # 1: the verifier also checks the teacher's answer to a flagged call
        "has_human",  # 1 when there are reviewers (a flagged teacher answer goes to them)
        "human_usd_per_review",
        "dist_human_review",
        "human_accuracy",
        "deadline_s",
        "deadline_fails",
        "bypass_s",
        "rate_limit_per_min",
        "unavailable_fails",
        "dist_normal",  # the standard normal (for the verifier's copula)
        "reviewer_pool",  # 1 when reviewers are a finite FIFO pool
        "col_verifier",
        "col_verifier_latency",
        "col_human_review",
        "col_human_correct",
        "col_audit",
        "col_secondary",  # the first of n_secondary columns
        "n_secondary",
        "col_teacher_check",
        "col_teacher_check_latency",
        "audit_rate",
        "horizon_s",  # the end of simulated time: student work after it is backlog
    ),
)
MODEL_FIELDS = MODEL.size
ModelParams = namedtuple("ModelParams", MODEL.names)

# carried across ticks: state[*] (int64)
STATE = Layout(
    "state",
    (
        "call_index",
        "sample_overflow",
        "full_from",  # the teacher limiter's run of consecutive full minutes [from, to)
        "full_to",
        "pending",  # records in the pending heap
        "clamped",  # computed indices (and times) that fell outside their array and were clamped
        "stop",  # set by another thread (Ctrl-C): the tick returns early, its results abandoned
    ),
)
STATE_CALL_INDEX = STATE["call_index"]
STATE_SAMPLE_OVERFLOW = STATE["sample_overflow"]
STATE_FULL_FROM = STATE["full_from"]
STATE_FULL_TO = STATE["full_to"]
STATE_PENDING = STATE["pending"]
STATE_CLAMPED = STATE["clamped"]
STATE_STOP = STATE["stop"]
STATE_FIELDS = STATE.size

# one call between its arrival and its settlement, in two named tuples of floats: its Draw (what
# the call is) and its Route (what the router decided). A deferred call waits in the pending heap
# as one row: the Route's fields, the Draw's, then its secondary outputs' latents
# (sim.engine.kernels.pending keys the heap on the first slot, the ready time).
ROUTE = Layout(
    "route",
    (
        "ready",  # when the fallback can start: the pending heap's key
        "student_at",  # when the student's answer can be returned (-1: none)
        "fallback",  # SOURCE_* of who is asked after or beside the student
        "confidence",
        "wait",  # the student queue's wait
        "fell_back",  # 1: counted as a fallback (cascade and verify)
        "teacher_started",  # a review of the teacher's flagged answer: when it started (else NaN)
    ),
)
DRAW = Layout(
    "draw",
    (
        "arrival",
        "segment",
        "index",  # the call's index in the stream (for the per-call sample)
        "student_correct",  # 1 or 0
        "teacher_correct",
        "tokens_in",
        "tokens_out",
        "teacher_usd",
        "u_teacher_latency",  # the latents only a settlement reads
        "u_human_review",
        "u_human_correct",
        "u_audit",
        "u_teacher_check",
        "u_teacher_check_latency",
    ),
)
Route = namedtuple("Route", ROUTE.names)
Draw = namedtuple("Draw", DRAW.names)
ROUTE_FIELDS = ROUTE.size
DRAW_FIELDS = DRAW.size
MAX_SECONDARY = 16
CALL = Layout("call", (*ROUTE.names, *DRAW.names, "u_secondary"), tail=MAX_SECONDARY)
R_READY = CALL["ready"]
R_U_SECONDARY = CALL["u_secondary"]
REC_FIELDS = CALL.size

# replayed calls: replayed[i, *] (tokens and segment negative: drawn as usual)
REPLAY = Layout("replay", ("time", "tokens_in", "tokens_out", "segment"))
REPLAY_TIME = REPLAY["time"]
REPLAY_TOKENS_IN = REPLAY["tokens_in"]
REPLAY_TOKENS_OUT = REPLAY["tokens_out"]
REPLAY_SEGMENT = REPLAY["segment"]
REPLAY_FIELDS = REPLAY.size

LAYOUTS = (UNIFORMS, COUNTS, VALUES, SAMPLE, SEGMENT, MODEL, STATE, ROUTE, DRAW, CALL, REPLAY)
# the layouts the kernels read as named tuples (m.deadline_s, draw.segment), not through constants
NAMED_TUPLES = (MODEL, ROUTE, DRAW)
