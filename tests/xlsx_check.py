#!/usr/bin/python3
"""xlsx_check.py - checks cells of a carerecon workbook (needs openpyxl).

Run with Debian's interpreter, which has python3-openpyxl:

    /usr/bin/python3 tests/xlsx_check.py WORKBOOK CHECK...

Checks (SHEET is a sheet name, CELL like D2):
    sheets=A,B,C              the sheet names, exactly and in this order
    headers:SHEET=H1,H2,...   the header row starts with these texts
    cell:SHEET!CELL=TEXT      the cell shows TEXT (empty TEXT: empty cell)
    type:SHEET!CELL=T         openpyxl data type: n number, s string, d date,
                              f formula, b bool; "empty" for no value
    rows:SHEET=N              N rows below the header (non-empty rows)
    freeze:SHEET=A2           the frozen pane's top-left cell
    autofilter:SHEET[=REF]    an autofilter is set (and covers REF)
    numfmt:SHEET!CELL=FMT     the cell's number format
    fmtof:SHEET=KEY|VALUE|FMT in the first row showing KEY, the cell
                              showing VALUE has number format FMT
    align:SHEET!CELL=V,H      the cell's vertical and horizontal alignment
                              (openpyxl's names; None when not set)
    pageheader:SHEET=TEXT     the printed page header contains TEXT
    find:SHEET=TEXT           some cell shows exactly TEXT
    findrow:SHEET=A,B,...     some row shows all of these texts
    absent:SHEET=TEXT         no cell of the sheet shows exactly TEXT
    contains:SHEET=TEXT       some cell's text contains TEXT
    noformula[:SHEET]         no formula cell (in SHEET, or anywhere)
    charts:SHEET=N            the sheet holds N charts

A cell "shows": strings with Excel's _xHHHH_ escapes decoded, whole
numbers without ".0", other numbers as Python prints them, date-times as
"YYYY-MM-DD HH:MM:SS".  Prints "ok CHECK" or "FAIL CHECK: why" per check;
exits 0 when all passed, 1 when some failed, 2 on bad usage or an
unreadable workbook.
"""
import datetime
import re
import sys

try:
    import openpyxl
except ImportError:  # pragma: no cover
    sys.stderr.write("xlsx_check: openpyxl is missing; run with /usr/bin/python3\n")
    sys.exit(2)

_XESC = re.compile(r"_x([0-9A-Fa-f]{4})_")


def shown(v):
    """The text a cell value shows, as described above ('' for None)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, datetime.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, str):
        return _XESC.sub(lambda m: chr(int(m.group(1), 16)), v)
    return str(v)


def sheet(wb, name):
    if name not in wb.sheetnames:
        raise AssertionError("no sheet %r (have %s)" % (name, ", ".join(wb.sheetnames)))
    return wb[name]


def split_ref(s):
    """'Sheet!D2' -> ('Sheet', 'D2')."""
    if "!" not in s:
        raise ValueError("want SHEET!CELL, got %r" % s)
    name, ref = s.rsplit("!", 1)
    return name, ref


def data_rows(ws):
    return [r for r in ws.iter_rows(min_row=2, values_only=True)
            if any(v is not None and v != "" for v in r)]


def check(wb, spec):
    """Raises AssertionError (why) when SPEC does not hold."""
    m = re.match(r"([a-z]+)([:=]?)(.*)\Z", spec, re.S)
    if not m:
        raise ValueError("cannot read check")
    kind, sep, rest = m.groups()
    arg, value = None, ""
    if sep == ":":
        arg, _, value = rest.partition("=")
    elif sep == "=":
        value = rest

    if kind == "sheets":
        want = value.split(",")
        if wb.sheetnames != want:
            raise AssertionError("sheets are %s" % ",".join(wb.sheetnames))
    elif kind == "headers":
        ws = sheet(wb, arg)
        want = value.split(",")
        got = [shown(c.value) for c in ws[1]][:len(want)]
        if got != want:
            raise AssertionError("header row is %s" % ",".join(shown(c.value) for c in ws[1]))
    elif kind in ("cell", "type", "numfmt"):
        name, ref = split_ref(arg)
        c = sheet(wb, name)[ref]
        if kind == "cell":
            got = shown(c.value)
        elif kind == "type":
            got = "empty" if c.value is None else c.data_type
        else:
            got = c.number_format
        if got != value:
            raise AssertionError("%s is %r" % (ref, got))
    elif kind == "align":
        name, ref = split_ref(arg)
        a = sheet(wb, name)[ref].alignment
        got = "%s,%s" % (a.vertical, a.horizontal)
        if got != value:
            raise AssertionError("%s is aligned %s" % (ref, got))
    elif kind == "pageheader":
        h = sheet(wb, arg).oddHeader
        got = " ".join(str(p.text or "") for p in (h.left, h.center, h.right))
        if value not in got:
            raise AssertionError("page header is %r" % got)
    elif kind == "fmtof":
        key, val, fmt = value.split("|", 2)
        for row in sheet(wb, arg).iter_rows():
            if any(shown(c.value) == key for c in row):
                got = [c.number_format for c in row if shown(c.value) == val]
                if not got:
                    raise AssertionError("no %r in the row of %r" % (val, key))
                if got[0] != fmt:
                    raise AssertionError("%r shows as %r" % (val, got[0]))
                return
        raise AssertionError("no row shows %r" % key)
    elif kind == "rows":
        n = len(data_rows(sheet(wb, arg)))
        if n != int(value):
            raise AssertionError("%d rows" % n)
    elif kind == "freeze":
        got = sheet(wb, arg).freeze_panes
        if got != value:
            raise AssertionError("frozen at %r" % got)
    elif kind == "autofilter":
        ref = sheet(wb, arg).auto_filter.ref
        if not ref:
            raise AssertionError("no autofilter")
        if value and ref != value:
            raise AssertionError("autofilter is %s" % ref)
    elif kind in ("find", "contains"):
        ws = sheet(wb, arg)
        for row in ws.iter_rows(values_only=True):
            for v in row:
                t = shown(v)
                if (t == value) if kind == "find" else (value in t):
                    return
        raise AssertionError("not found")
    elif kind == "absent":
        ws = sheet(wb, arg)
        for row in ws.iter_rows(values_only=True):
            if any(shown(v) == value for v in row):
                raise AssertionError("%r is there" % value)
    elif kind == "findrow":
        ws = sheet(wb, arg)
        want = value.split(",")
        for row in ws.iter_rows(values_only=True):
            texts = [shown(v) for v in row]
            if all(w in texts for w in want):
                return
        raise AssertionError("no such row")
    elif kind == "noformula":
        sheets = [sheet(wb, arg)] if arg else wb.worksheets
        for ws in sheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        raise AssertionError("%s!%s is a formula" % (ws.title, c.coordinate))
    elif kind == "charts":
        n = len(sheet(wb, arg)._charts)
        if n != int(value):
            raise AssertionError("%d charts" % n)
    else:
        raise ValueError("unknown check %r" % kind)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        wb = openpyxl.load_workbook(argv[1])
    except Exception as e:  # any reason the file cannot be read
        sys.stderr.write("xlsx_check: cannot read %s: %s\n" % (argv[1], e))
        return 2
    failed = 0
    for spec in argv[2:]:
        try:
            check(wb, spec)
            print("ok %s" % spec)
        except AssertionError as e:
            failed += 1
            print("FAIL %s: %s" % (spec, e))
        except (ValueError, KeyError, IndexError) as e:
            failed += 1
            print("FAIL %s: bad check: %s" % (spec, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
