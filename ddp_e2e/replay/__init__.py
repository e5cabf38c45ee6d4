"""Recording, reading, normalising and comparing DDP sessions (issue #5).

Readers turn HAR files, our JSONL recordings and DDP-Analyzer logs into a :class:`Recording`;
:mod:`normalize` and :mod:`compare` decide whether a live server answered like the recorded one;
:mod:`report` renders the outcome for a person. Nothing here does network I/O: the live runner
and the recording proxy build on these pieces.
"""

from .compare import Comparator, compare_connections
from .convert import convert, detect_kind, read_recording
from .difference import Difference, format_diff
from .errors import MissingCredentialsError, RecordingError
from .jsonl import JsonlWriter, read_jsonl, write_jsonl
from .model import Connection, Frame, Recording
from .normalize import NormalizeOptions, Normalizer
from .redact import redact_frame
from .report import ConnectionReport, write_html_report
from .rewrite import IdRewriter
from .segments import Indexed, Segment, split_segments

__all__ = [
    "Comparator",
    "Connection",
    "ConnectionReport",
    "Difference",
    "Frame",
    "IdRewriter",
    "Indexed",
    "JsonlWriter",
    "MissingCredentialsError",
    "NormalizeOptions",
    "Normalizer",
    "Recording",
    "RecordingError",
    "Segment",
    "compare_connections",
    "convert",
    "detect_kind",
    "format_diff",
    "read_jsonl",
    "read_recording",
    "redact_frame",
    "split_segments",
    "write_html_report",
    "write_jsonl",
]
