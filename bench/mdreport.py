"""Markdown tables and number formats shared by the bench reports
(summarize.py, cluster_report.py, backup_report.py)."""


def fmt_rps(x):
    return f"{x:,.0f}"


def fmt_ms(x):
    return f"{x:.3f}"


def ratio(num, den):
    return f"{num / den:.2f}" if den else "n/a"


def table(header, rows, left=1, align=None):
    """A markdown table. align has one letter per column, l or r; without
    it the first `left` columns are labels (left-aligned) and the rest
    numbers (right-aligned)."""
    align = align or "l" * left + "r" * (len(header) - left)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if c == "l" else "---:" for c in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)
