"""Text tables as kubectl prints them: Go's text/tabwriter layout over a server-side Table.

kubectl upper-cases the column names, hides priority>0 columns unless `-o wide`, adds NAMESPACE first for
`-A`, writes `kind/name` in the NAME column when several kinds are printed, and can add LABELS.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.apiserver.tables import format_labels

# kubectl's printers.GetNewTabWriter: minwidth 6, padding 3, spaces.
MIN_WIDTH, PADDING = 6, 3


def tabwrite(rows: list[list[str]], min_width: int = MIN_WIDTH, padding: int = PADDING) -> str:
    """Go's text/tabwriter: a line's cells but its last are aligned in column blocks.

    A column block is a run of consecutive lines that all have a cell in that column; each block is as wide
    as its widest cell plus padding (at least min_width). A line with fewer cells ends the block, which is
    why `kubectl describe` sections align separately.
    """
    widths: list[list[int]] = [[0] * max(0, len(row) - 1) for row in rows]

    def align(start: int, end: int, column: int) -> None:
        line = start
        while line < end:
            if column >= len(rows[line]) - 1:
                line += 1
                continue
            block_end, width = line, min_width
            while block_end < end and column < len(rows[block_end]) - 1:
                width = max(width, len(rows[block_end][column]) + padding)
                block_end += 1
            for index in range(line, block_end):
                widths[index][column] = width
            align(line, block_end, column + 1)
            line = block_end

    align(0, len(rows), 0)
    out = []
    for row, row_widths in zip(rows, widths):
        cells = [cell.ljust(width) for cell, width in zip(row, row_widths)]
        out.append("".join(cells) + (row[-1] if row else "") + "\n")
    return "".join(out)


def tabwrite_text(text: str, min_width: int = 0, padding: int = 2) -> str:
    """Lay out tab-separated text (describe output uses minwidth 0, padding 2)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tabwrite([line.split("\t") for line in lines], min_width, padding)


@dataclass
class TableOptions:
    wide: bool = False
    with_namespace: bool = False
    kind_prefix: str = ""  # e.g. "deployment.apps": NAME cells become deployment.apps/web
    show_labels: bool = False
    no_headers: bool = False


def table_rows(table: dict, options: TableOptions) -> list[list[str]]:
    """Header (unless no_headers) and one list of cells per row."""
    shown = [i for i, c in enumerate(table.get("columnDefinitions") or []) if options.wide or c.get("priority", 0) == 0]
    columns = table.get("columnDefinitions") or []
    rows = []
    if not options.no_headers:
        header = [columns[i]["name"].upper() for i in shown]
        rows.append((["NAMESPACE"] if options.with_namespace else []) + header + (["LABELS"] if options.show_labels else []))
    for row in table.get("rows") or []:
        meta = (row.get("object") or {}).get("metadata") or {}
        cells = [_cell(row["cells"][i]) for i in shown]
        if options.kind_prefix and cells:
            cells[0] = f"{options.kind_prefix}/{cells[0]}"
        prefix = [meta.get("namespace", "")] if options.with_namespace else []
        suffix = [format_labels(meta.get("labels"))] if options.show_labels else []
        rows.append(prefix + cells + suffix)
    return rows


def _cell(value: object) -> str:
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_table(table: dict, options: TableOptions) -> str:
    return tabwrite(table_rows(table, options))
