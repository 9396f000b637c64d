"""The run a state works on: receipt, tokens, catalogue and roots, resolved once."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .catalogue import Catalogue, Tokens, resolve_physical
from .identity import RECEIPT_NAME, RunReceipt, parse_receipt, select_receipt
from .paths import default_runs_root, project_root

# Run values the seg3a dbt plugin (python_udfs/plugin.py) exposes as DuckDB macros of the
# build's database, `<name>()`: the selected run's root, or why no run could be selected.
RUN_ROOT_VARIABLE = "seg3a_run_root"
CONTEXT_ERROR_VARIABLE = "seg3a_context_error"


class RunSelectionError(Exception):
    """No usable run was selected for a dbt invocation (callers map it to their code)."""


def _resolve_root(text: str) -> Path:
    """Receipt roots are recorded relative to the project root so that receipts do not
    vary by machine; absolute ones are taken as they are."""
    path = Path(text)
    return path if path.is_absolute() else (project_root() / path).resolve()


@dataclass(frozen=True)
class RunContext:
    receipt: RunReceipt
    catalogue: Catalogue
    tokens: Tokens
    external_roots: tuple[Path, ...]

    @property
    def run_root(self) -> Path:
        return self.receipt.run_root

    @classmethod
    def resolve(cls, runs_root: Path | None = None, run_id: str | None = None) -> "RunContext":
        """Select the run (SEG3A_RUN_ID or the newest receipt under the runs root)."""
        runs_root = Path(runs_root) if runs_root else default_runs_root()
        run_id = run_id if run_id is not None else os.environ.get("SEG3A_RUN_ID") or None
        receipt = select_receipt(runs_root, run_id)
        return cls.from_receipt(receipt)

    @classmethod
    def from_receipt(cls, receipt: RunReceipt) -> "RunContext":
        contracts = _resolve_root(receipt.contracts_root) if receipt.contracts_root else None
        catalogue = Catalogue(contracts)
        tokens = Tokens(receipt.seed, receipt.parameter_hash, receipt.manifest_fingerprint, receipt.run_id)
        roots = tuple(_resolve_root(r) for r in receipt.external_roots) or (project_root(),)
        return cls(receipt, catalogue, tokens, roots)

    @classmethod
    def from_run_root(cls, run_root: Path | str) -> "RunContext":
        """The run whose receipt lies in `run_root` (ReceiptError when it is unusable)."""
        return cls.from_receipt(parse_receipt(Path(run_root) / RECEIPT_NAME))

    @classmethod
    def from_session(cls, session) -> "RunContext":
        """The run the seg3a plugin selected for this dbt invocation, read from the
        DuckDB session's run value macros: RunSelectionError when there is none (also in
        a session without them, i.e. not one of a seg3a build)."""
        import duckdb

        try:
            run_root, error = session.execute(f"select {RUN_ROOT_VARIABLE}(), {CONTEXT_ERROR_VARIABLE}()").fetchone()
        except duckdb.CatalogException:
            run_root, error = None, None
        if not run_root:
            raise RunSelectionError(f"run receipt unusable: {error or 'no run selected'}")
        return cls.from_run_root(run_root)

    def catalogue_path(self, dataset_id: str) -> str:
        return self.catalogue.render(dataset_id, self.tokens)

    def path(self, dataset_id: str) -> Path:
        """Physical location (first existing candidate, else the default home)."""
        return resolve_physical(self.catalogue_path(dataset_id), self.run_root, list(self.external_roots))
