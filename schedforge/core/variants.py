"""One-line descriptions of method variants (``rule:edd``, ``mip:highs`` ...).

``schedforge methods`` lists every variant with the line :func:`describe`
gives; a test checks that every registered variant of the built-in methods
has one, so a new variant cannot be listed without a description.
"""

from __future__ import annotations

# Plain words per (problem, variant token); composite variants are built
# from their parts below.
_SMTT = {
    "edd": "earliest due date first",
    "spt": "shortest processing time first",
    "wspt": "smallest processing time / weight first (Smith 1956)",
    "mdd": "modified due date max(p, d - t) (Baker & Bertrand 1982)",
    "atc": "apparent tardiness cost, look-ahead k (Vepsalainen & Morton 1987)",
    "psk": "SPT order with due-date look-ahead (Panneerselvam 2006)",
    "eddc": "LLM-discovered EDD variant (Çetinkaya et al. 2025)",
    "mddc": "LLM-discovered MDD variant (Çetinkaya et al. 2025)",
}
_RCPSP = {
    "lft": "latest finish time first",
    "lst": "latest start time first",
    "mts": "most total successors first",
    "grpw": "greatest rank positional weight first",
    "mslk": "minimum slack first",
    "spt": "shortest processing time first",
    "lpt": "longest processing time first",
}
_FJSP_OPERATION = {
    "fifo": "job ready earliest",
    "spt": "shortest operation",
    "mor": "most operations remaining",
    "lor": "least operations remaining",
    "mwkr": "most work remaining",
    "lwkr": "least work remaining",
}
_FJSP_MACHINE = {"eet": "machine finishing it earliest", "spt": "machine processing it fastest"}
_PODS = {
    "ffd": "first fit, pods by priority then size decreasing",
    "bfd": "best fit, pods by priority then size decreasing",
    "most-allocated": "kube-scheduler with MostAllocated scoring (bin packing)",
}
_MIP = {"cbc": "solved by CBC (COIN-OR)", "highs": "solved by HiGHS"}


def describe(problem: str, name: str, variant: str) -> str:
    """The one-line description of ``name:variant`` for ``problem``, or ``""`` if unknown."""
    if name == "mip":
        return _MIP.get(variant, "")
    if name == "heuristic":
        return f"discovered heuristic (schedforge heuristics show {variant})"
    if problem == "smtt":
        base = variant.removeprefix("aug-")
        text = _SMTT.get(base, "")
        if not text:
            return ""
        if name == "ls":
            return f"descent from the {base.upper()} sequence"
        if name == "ils":
            return f"iterated local search from the {base.upper()} sequence"
        return text + (", with Bean & Hall augmentation" if variant.startswith("aug-") else "")
    if problem == "rcpsp":
        text = _RCPSP.get(variant, "")
        return f"biased random sampling: {text}" if text and name == "sample" else text
    if problem == "fjsp":
        if name == "rh":
            return "CP-SAT on each window" if variant == "cp" else ""
        operation, _, machine = variant.partition("-")
        if operation in _FJSP_OPERATION and machine in _FJSP_MACHINE:
            return f"{_FJSP_OPERATION[operation]}, on the {_FJSP_MACHINE[machine]}"
        return ""
    if problem == "pods":
        return _PODS.get(variant, "")
    return ""
