"""Coverage-guided fuzzing of the spec parser and decoder with atheris (libFuzzer).

Run: `python tests/reliability/fuzz_atheris.py -runs=20000 -max_total_time=120`. Any exception
other than the parser's and the validator's own rejections is a crash: libFuzzer stops,
writes the input to crash-*, and exits non-zero. tests/reliability/test_fuzz_atheris.py runs
it where atheris is installed (`make reliability` installs it).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from plattr.models import Application
    from plattr.validation import InvalidDocument, decode
    from plattr.yamlio import YamlError, load_all


def one_input(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    try:
        documents = load_all(text, "fuzz.yaml")
    except YamlError as error:
        if not str(error).startswith("fuzz.yaml"):
            raise AssertionError(f"a YAML rejection that names no file: {error}") from None
        return
    for document in documents:
        try:
            decode(document, Application)
        except InvalidDocument as error:
            for field_error in error.errors:
                if not isinstance(document, dict):
                    continue
                named = field_error.path or field_error.message.split(" ", 1)[0] in document
                if not named:
                    raise AssertionError(f"no field named: {field_error}") from None


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
