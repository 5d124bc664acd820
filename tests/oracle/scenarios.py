import csv, datetime as dt, json, os, random, shutil, sqlite3, subprocess, sys
from zoneinfo import ZoneInfo
sys.path.insert(0, os.path.dirname(__file__))
from oracle import Oracle, Policy, UTC, parse_ts, norm_sn, end_of_day

BIN = os.environ.get("CARERECON_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "carerecon"))
WORK = os.environ.get("ORACLE_WORK", "/tmp/carerecon-oracle")

ANCHORS = {
    "America/New_York": [dt.date(2026, 3, 8), dt.date(2026, 11, 1)],
    "Europe/Berlin": [dt.date(2026, 3, 29), dt.date(2026, 10, 25)],
}
ZONES = ["America/New_York", "Europe/Berlin", "America/Santiago", "Australia/Sydney", "Europe/Dublin",
         "Australia/Lord_Howe", "America/Havana", "Asia/Beirut", "America/Los_Angeles"]


def transitions(tzn, year):
    tz = ZoneInfo(tzn)
    out = []
    t = dt.datetime(year, 1, 1, tzinfo=UTC)
    prev = t.astimezone(tz).utcoffset()
    while t.year == year:
        t2 = t + dt.timedelta(hours=1)
        o = t2.astimezone(tz).utcoffset()
        if o != prev:
            out.append(t2.astimezone(tz).date())
            prev = o
        t = t2
    return out


ALNUM = "ABCDEFGHJKMNPQRTUVWXYZ0123456789OILS"


def fmt_amount(v, cur, exps):
    e = exps.get(cur, 2)
    if e == 0:
        return str(v)
    s = str(abs(v)).rjust(e + 1, "0")
    return ("-" if v < 0 else "") + s[:-e] + "." + s[-e:]


def iso(t, tz, mode=None):
    mode = mode or random.choice(["utc", "local"])
    if mode == "utc":
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return t.astimezone(tz).isoformat()


def near_variant(sn):
    pairs = [("O", "0"), ("0", "O"), ("I", "1"), ("1", "I"), ("L", "1"), ("S", "5"), ("5", "S")]
    random.shuffle(pairs)
    for a, b in pairs:
        if a in sn:
            i = sn.index(a)
            return sn[:i] + b + sn[i + 1:]
    return None


def gen_scenario(seed):
    R = random.Random(seed)
    random.seed(seed)
    tzname = R.choice(ZONES)
    tz = ZoneInfo(tzname)
    year = R.choice([2026, 2026, 2041])
    anchor = R.choice(transitions(tzname, year))
    n1 = anchor + dt.timedelta(days=R.randint(-3, 8))
    nights = [n1]
    for _ in range(R.randint(1, 4)):
        nights.append(nights[-1] + dt.timedelta(days=R.choice([1, 1, 2, 3, 5])))
    Ds = [end_of_day(n, tz) for n in nights]
    pol = Policy(
        return_days=R.choice([7, 10, 14]),
        return_days_by_region={"US": R.choice([7, 10, 14])},
        transit_grace_days=R.choice([2, 5, 7]),
        ship_reminder_days=R.choice([1, 3]),
        checkin_sla_days=R.choice([1, 2]),
        late_return=R.choice(["capture", "release"]),
        settlement_confirm_days=R.choice([1, 3]),
        auth_validity_days={"visa": R.choice([5, 10]), "mastercard": 30, "amex": R.choice([3, 7])},
    )
    claims, events, setts, late_events = [], [], [], []
    ncl = R.randint(6, 20)
    used_sn = []
    for k in range(ncl):
        cid = f"CE{seed % 10000:04d}-{k:04d}"
        plan = "premium" if R.random() < 0.75 else "basic"
        region = "US"
        currency = "USD"
        r = R.random()
        if r < 0.08:
            region, currency = "JP", "JPY"
        elif r < 0.13:
            region, currency = "CA", "CAD"
        elif r < 0.17:
            currency = "KRW"
        if used_sn and R.random() < 0.07:
            sn = R.choice(used_sn)
        else:
            sn = "".join(R.choice(ALNUM) for _ in range(R.randint(8, 14)))
            used_sn.append(sn)
        value = R.choice([13900, 49900, 75900, 219900, 6800, 100])
        pre = value
        rr = R.random()
        if rr < 0.1:
            pre = value + R.choice([1, 1000])
        elif rr < 0.15:
            pre = value - 1
        preref = f"88{seed % 100000:05d}{k:05d}"
        if plan == "premium" and R.random() < 0.06:
            if R.random() < 0.5:
                preref = R.choice([None, "", "  "])
            else:
                pre = R.choice([0, -5, None])
        if plan == "basic":
            if R.random() < 0.6:
                preref, pre = None, None
        brand = R.choices(["visa", "mastercard", "amex", "discover", None, "Visa"], [35, 30, 25, 4, 3, 3])[0]
        # payment time
        pday = n1 - dt.timedelta(days=R.randint(-3, 22))
        ptime = R.choice([dt.time(0, 0, 0), dt.time(0, 0, 1), dt.time(23, 59, 59), dt.time(23, 30), dt.time(2, 30),
                          dt.time(R.randint(0, 23), R.randint(0, 59), R.randint(0, 59))])
        paid = dt.datetime.combine(pday, ptime, tzinfo=tz).astimezone(UTC)
        if R.random() < 0.15:
            paid = R.choice(Ds) - dt.timedelta(days=R.choice([pol.ship_reminder_days, pol.ship_reminder_days, 0, 10]), seconds=R.choice([0, 0, 1, -1]))
        paid_s = R.choice([paid.strftime("%Y-%m-%dT%H:%M:%SZ"), paid.astimezone(tz).isoformat()])
        rdays = R.choice([None, None, 7, 10, 14, 1, 0])
        payday = paid.astimezone(tz).date()
        refresh = R.choices([payday + dt.timedelta(days=300), payday, payday - dt.timedelta(days=1),
                             paid.date() - dt.timedelta(days=0)], [80, 8, 8, 4])[0]
        c = dict(claim_id=cid, plan=plan, region=region, product_model=R.choice(["Mavic 3 Pro", "Mini 4 Pro", "Osmo Mobile 6"]),
                 registered_sn=sn, battery_registered=R.choice([0, 1]), product_value=value, currency=currency,
                 service_fee=R.choice([2900, 18900, 500]), preauth_ref=preref, preauth_amount=pre, card_brand=brand,
                 paid_at=paid_s, return_days=rdays, refresh_expires_on=refresh.isoformat(),
                 replacements_left=R.choices([2, 1, 0], [80, 15, 5])[0], status=R.choices(["active", "cancelled"], [93, 7])[0])
        claims.append(c)
    orc = Oracle(claims, tzname, pol)
    trk_n = [0]

    def trk():
        trk_n[0] += 1
        return f"1Z{seed:08d}{trk_n[0]:04d}"

    def when(key, c):
        paid, payday, deadline, grace_end = orc.claim_dates(c)
        Dk = R.choice(Ds)
        vd = pol.auth_validity_days.get((c["card_brand"] or "").lower())
        base = R.choice([deadline, deadline, grace_end, grace_end, paid, Dk, deadline - dt.timedelta(days=R.randint(1, 10)),
                         Dk - dt.timedelta(days=pol.checkin_sla_days),
                         paid + dt.timedelta(days=vd or 3)])
        delta = R.choice([0, 1, -1, 3600, -3600, 86400, -86400, R.randint(-5 * 86400, 5 * 86400)])
        t = base + dt.timedelta(seconds=delta)
        if t < paid and R.random() < 0.9:
            t = paid + dt.timedelta(hours=R.randint(1, 48))
        return t

    for c in claims:
        story = R.choices(["none", "ship", "ship_del", "del", "rcv", "ship_del_rcv", "ship_rcv"], [10, 12, 15, 8, 20, 25, 10])[0]
        t = trk() if R.random() < 0.93 or trk_n[0] < 2 else f"1Z{seed:08d}{R.randint(1, trk_n[0]):04d}"
        refmode = R.choices(["id", "lower", "blank", "spaced"], [60, 10, 20, 10])[0]

        def ref():
            m = refmode
            if m == "id":
                return c["claim_id"]
            if m == "lower":
                return c["claim_id"].lower()
            if m == "spaced":
                return "  " + c["claim_id"] + " "
            return ""
        evs = []
        ts = sorted([when("x", c) for _ in range(3)])
        if "ship" in story:
            evs.append(dict(tracking=t, ref=ref(), event="shipped", at=ts[0]))
        if "del" in story:
            evs.append(dict(tracking=t, ref=ref(), event="delivered", at=ts[1]))
        if "rcv" in story or story == "rcv":
            sn = c["registered_sn"]
            m = R.choices(["same", "near", "mismatch", "fmt"], [65, 12, 8, 15])[0]
            if m == "near":
                sn = near_variant(sn) or sn + "X"
            elif m == "mismatch":
                sn = sn[:-1] + ("Q" if sn[-1] != "Q" else "R")
            elif m == "fmt":
                sn = R.choice(["]C1" + sn.lower(), sn[:4] + "-" + sn[4:], " " + sn[:3] + " " + sn[3:] + " "])
            rref = ref()
            if refmode == "blank" and R.random() < 0.5:
                rt = trk()  # serial-only match
            else:
                rt = t
            e = dict(tracking=rt, ref=rref, event="received", at=ts[2] if len(evs) else ts[R.randint(0, 2)], serial=sn,
                     battery=R.random() < 0.8, genuine=R.random() < 0.9)
            evs.append(e)
            if R.random() < 0.12:
                e2 = dict(e)
                e2["serial"] = R.choice([c["registered_sn"], c["registered_sn"] + "Z", c["registered_sn"].lower(), "]C1" + c["registered_sn"]])
                e2["at"] = e["at"] + dt.timedelta(seconds=R.choice([-3600, 3600, 86400]))
                evs.append(e2)
            if R.random() < 0.08:
                evs.append(dict(e))  # exact duplicate
        for e in evs:
            e.setdefault("serial", "")
            e.setdefault("battery", None)
            e.setdefault("genuine", None)
            if R.random() < 0.12:
                late_events.append(e)
            else:
                events.append(e)
        # settlement rows
        for _ in range(R.choices([0, 1, 2, 3], [30, 35, 25, 10])[0]):
            typ = R.choices(["capture", "release", "expired", "fee", "chargeback", "refund"], [35, 25, 8, 20, 6, 6])[0]
            cur = c["currency"]
            amt = None
            pre = c["preauth_amount"] or 0
            if typ == "capture":
                amt = R.choice([min(pre, c["product_value"]), min(pre, c["product_value"]), pre, pre + 100])
                if R.random() < 0.1:
                    cur = "CAD" if cur != "CAD" else "USD"
            elif typ == "fee":
                amt = R.choice([c["service_fee"], c["service_fee"], c["service_fee"] - 100])
            elif typ in ("chargeback", "refund"):
                amt = c["service_fee"]
            base = R.choice(Ds)
            b = base + dt.timedelta(seconds=R.choice([R.randint(-40 * 3600, 80 * 3600), 1, 3600, 86400, 0, -1]))
            psp = c["preauth_ref"] if (c["preauth_ref"] or "").strip() and R.random() < 0.8 else ""
            merch = c["claim_id"] if (not psp or R.random() < 0.7) else ""
            if merch and R.random() < 0.2:
                merch = R.choice([merch.lower(), " " + merch + " ", R.choice(claims)["claim_id"]])
            br = R.choices([None, c["card_brand"], "visa", "mc"], [40, 40, 10, 10])[0]
            setts.append(dict(psp=psp, merchant=merch, type=typ, amount=amt if amt is None else abs(amt), currency=cur, booked_at=b, brand=br))
    # unmatched noise
    if R.random() < 0.4:
        events.append(dict(tracking=trk(), ref="", event="delivered", at=Ds[0] - dt.timedelta(hours=5), serial="", battery=None, genuine=None))
    if R.random() < 0.3:
        setts.append(dict(psp="999999", merchant="PO-1", type="capture", amount=1000, currency="USD", booked_at=Ds[0] - dt.timedelta(hours=3), brand=None))
    # extra as-of instants at claim boundaries
    extra = []
    for _ in range(R.choice([0, 0, 1, 2])):
        c = R.choice(claims)
        paid, payday, deadline, grace_end = orc.claim_dates(c)
        vd = pol.auth_validity_days.get((c["card_brand"] or "").lower()) or 5
        t = R.choice([deadline, grace_end, paid + dt.timedelta(days=vd), paid + dt.timedelta(days=pol.ship_reminder_days)])
        t += dt.timedelta(seconds=R.choice([0, 1, -1]))
        if Ds[0] < t < Ds[-1] and all(abs((t - x).total_seconds()) > 2 for x in Ds + extra):
            extra.append(t)
    if extra:
        allD = sorted(Ds + extra)
        nights = [x if x in extra else nights[Ds.index(x)] for x in allD]
        Ds = allD
    edits = {}
    for n in range(2, len(nights) + 1):
        if R.random() < 0.35:
            c = R.choice(claims)
            kind = R.choice(["cancel", "activate", "fix_preauth", "return_days", "brand"])
            edits.setdefault(n, []).append((c["claim_id"], kind, R.choice([1, 7, 21])))
    return dict(seed=seed, tzname=tzname, edits=edits, nights=nights, Ds=Ds, policy=pol, claims=claims, events=events, late_events=late_events, setts=setts)


def write_files(sc, d):
    tz = ZoneInfo(sc["tzname"])
    pol = sc["policy"]
    os.makedirs(d + "/inbox/receipts")
    os.makedirs(d + "/inbox/settlements")
    os.makedirs(d + "/late")
    con = sqlite3.connect(d + "/claims.db")
    con.executescript(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "claims.sql")).read().split("BEGIN;")[0])
    cols = list(sc["claims"][0].keys())
    for c in sc["claims"]:
        con.execute(f"insert into claims ({','.join(cols)}) values ({','.join('?' * len(cols))})", [c[k] for k in cols])
    con.commit()
    con.close()

    def bool_s(b):
        return "" if b is None else ("Y" if b else "N")

    def wr_events(path, evs):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["Trk", "Ref", "Ev", "At", "Serial", "Batt", "Genuine", "Extra"])
            for i, e in enumerate(evs):
                e["file"] = os.path.basename(path)
                e["line"] = i + 2
                w.writerow([e["tracking"], e["ref"], e["event"], iso(e["at"], tz), e["serial"], bool_s(e["battery"]), bool_s(e["genuine"]), "x"])
    wr_events(d + "/inbox/receipts/rcv_1.csv", sc["events"])
    wr_events(d + "/late/rcv_2.csv", sc["late_events"])
    with open(d + "/inbox/settlements/stl_1.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Psp", "Merchant", "Type", "Amount", "Currency", "Booked", "Brand"])
        for i, r in enumerate(sc["setts"]):
            r["file"] = "stl_1.csv"
            r["line"] = i + 2
            w.writerow([r["psp"], r["merchant"], r["type"], "" if r["amount"] is None else fmt_amount(r["amount"], r["currency"], pol.currency_exponents),
                        r["currency"], iso(r["booked_at"], tz), r["brand"] or ""])
    y = f"""timezone: {sc['tzname']}
claims_db: claims.db
state_db: var/state.db
report_dir: reports
actions_dir: reports/actions
inbox:
  receipts: inbox/receipts
  settlements: inbox/settlements
policy:
  return_days: {pol.return_days}
  return_days_by_region: {json.dumps(pol.return_days_by_region)}
  transit_grace_days: {pol.transit_grace_days}
  ship_reminder_days: {pol.ship_reminder_days}
  checkin_sla_days: {pol.checkin_sla_days}
  late_return: {pol.late_return}
  settlement_confirm_days: {pol.settlement_confirm_days}
  premium_regions: [US]
  card_brands: [visa, mastercard, amex]
  auth_validity_days: {json.dumps(pol.auth_validity_days)}
  currency_exponents: {{JPY: 0, KRW: 0}}
feeds:
  - name: rcv
    kind: receipts
    files: "rcv_*.csv"
    datetime_format: "%Y-%m-%dT%H:%M:%S%z"
    timezone: UTC
    event_column: Ev
    event_values: {{shipped: shipped, delivered: delivered, received: received}}
    columns: {{tracking_number: Trk, claim_ref: Ref, event_at: At, serial: Serial, battery_returned: Batt, genuine: Genuine}}
  - name: stl
    kind: settlements
    files: "stl_*.csv"
    datetime_format: "%Y-%m-%dT%H:%M:%S%z"
    timezone: UTC
    type_column: Type
    type_values: {{capture: capture, release: release, expired: expired, refund: refund, fee: fee, chargeback: chargeback}}
    card_brand_values: {{mc: mastercard}}
    columns: {{psp_reference: Psp, merchant_reference: Merchant, amount: Amount, currency: Currency, booked_at: Booked, card_brand: Brand}}
"""
    open(d + "/config.yaml", "w").write(y)


def read_state(d, run):
    con = sqlite3.connect(d + "/var/state.db")
    cs = {}
    for cid, dec, state, rem in con.execute("select claim_id, decision, state, reminder from claim_state"):
        cs[cid] = (dec, state, rem)
    decs = {}
    for cid, dec, reason, state in con.execute("select claim_id, decision, reason, state from decisions d where run_id = (select max(run_id) from decisions d2 where d2.claim_id=d.claim_id and run_id<=?)", (run,)):
        decs[cid] = (dec, reason, state)
    exc = {}
    for code, cid, subj, status in con.execute("select code, claim_id, subject, status from exceptions"):
        if "@" in subj:
            subj = subj.split("@", 1)[1]
        exc[(code, subj)] = status
    con.close()
    return cs, decs, exc


def read_actions(d, run):
    out = []
    ad = d + "/reports/actions"
    for fn in sorted(os.listdir(ad)):
        if fn.endswith(f"_run{run}.csv"):
            with open(ad + "/" + fn) as f:
                for row in csv.DictReader(f):
                    if fn.startswith("payment"):
                        out.append((row["claim_id"], row["action"], row["reason"], row["amount"], row["currency"]))
                    else:
                        out.append((row["claim_id"], "ship_replacement", None, None, None))
    return out


def apply_edits(sc, d, n, orc):
    if n not in sc["edits"]:
        return
    con = sqlite3.connect(d + "/claims.db")
    for cid, kind, v in sc["edits"][n]:
        c = next(c for c in sc["claims"] if c["claim_id"] == cid)
        if kind == "cancel":
            c["status"] = "cancelled"
        elif kind == "activate":
            c["status"] = "active"
        elif kind == "fix_preauth":
            c["preauth_ref"] = c["preauth_ref"] if (c["preauth_ref"] or "").strip() else "77" + cid[-8:]
            c["preauth_amount"] = c["preauth_amount"] if (c["preauth_amount"] or 0) > 0 else c["product_value"]
        elif kind == "return_days":
            c["return_days"] = v
        elif kind == "brand":
            c["card_brand"] = "visa" if c["card_brand"] != "visa" else "amex"
        con.execute("update claims set status=?, preauth_ref=?, preauth_amount=?, return_days=?, card_brand=? where claim_id=?",
                    (c["status"], c["preauth_ref"], c["preauth_amount"], c["return_days"], c["card_brand"], cid))
    con.commit()
    con.close()
    orc.set_claims(sc["claims"])


def asof_arg(night, tzname):
    if isinstance(night, dt.date) and not isinstance(night, dt.datetime):
        return night.isoformat()
    return night.astimezone(ZoneInfo(tzname)).isoformat()


def compare(sc, d, res, n, diffs, state=True, excs=True, tag=""):
    exps = sc["policy"].currency_exponents
    cur = {c["claim_id"]: c["currency"] for c in sc["claims"]}
    mine = sorted(((cid, a, r, None if amt is None else fmt_amount(amt, cur[cid], exps), None if a == "ship_replacement" else cur[cid])
                   for cid, a, r, amt in res["emitted"]), key=str)
    theirs = sorted(read_actions(d, n), key=str)
    if mine != theirs:
        diffs.append(f"{tag}N{n} actions: oracle-only {sorted(set(mine)-set(theirs), key=str)} carerecon-only {sorted(set(theirs)-set(mine), key=str)}")
    if not state:
        return
    cs, decs, exc = read_state(d, n)
    for cid, dec in res["decisions"].items():
        c = cs.get(cid)
        if c is None:
            diffs.append(f"{tag}N{n} {cid}: oracle {dec} carerecon has no state")
            continue
        if dec[0] == "pending":
            if (c[0], c[1], bool(c[2])) != ("pending", dec[2], dec[3]):
                diffs.append(f"{tag}N{n} {cid}: oracle pending/{dec[2]}/rem={dec[3]} carerecon {c}")
        elif dec[0] in ("capture", "release"):
            dd = decs.get(cid)
            if c[0] != dec[0] or dd is None or dd[1] != dec[1]:
                diffs.append(f"{tag}N{n} {cid}: oracle {dec[0]}/{dec[1]} carerecon {c} {dd}")
        else:
            if c[0] != dec[0]:
                diffs.append(f"{tag}N{n} {cid}: oracle {dec[0]} carerecon {c}")
    if not excs:
        return
    for k in set(res["exc"]) | set(exc):
        a, b = res["exc"].get(k), exc.get(k)
        if a != b:
            diffs.append(f"{tag}N{n} exc {k}: oracle {a} carerecon {b}")


def run_scenario(seed, keep=False, full=False, mode=None):
    sc = gen_scenario(seed)
    R = random.Random(seed * 7 + 1)
    mode = mode or R.choices(["normal", "full", "backfill", "range"], [45, 15, 25, 15])[0]
    sc["mode"] = mode
    d = f"{WORK}/s{seed}"
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tz = ZoneInfo(sc["tzname"])
    if mode == "range":
        n1 = sc["nights"][0] if not isinstance(sc["nights"][0], dt.datetime) else sc["nights"][0].date()
        sc["nights"] = [n1 + dt.timedelta(days=i) for i in range(R.randint(2, 6))]
        sc["Ds"] = [end_of_day(x, tz) for x in sc["nights"]]
        sc["edits"] = {}
        sc["events"] += sc["late_events"]
        sc["late_events"] = []
    write_files(sc, d)
    orc = Oracle(sc["claims"], sc["tzname"], sc["policy"])
    orc.events = list(sc["events"])
    orc.settlements = sc["setts"]
    diffs = []
    full = full or mode == "full"
    cfg = d + "/config.yaml"
    if mode == "range":
        cmd = [BIN, "run", "--quiet", "--config", cfg, "--from", sc["nights"][0].isoformat(), "--to", sc["nights"][-1].isoformat()]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            diffs.append(f"range exit {p.returncode}: {p.stderr[:500]}")
        else:
            for n, D in enumerate(sc["Ds"], start=1):
                res = orc.night(D, n)
                compare(sc, d, res, n, diffs, state=(n == len(sc["Ds"])))
    else:
        n = 0
        for i, (night, D) in enumerate(zip(sc["nights"], sc["Ds"]), start=1):
            n += 1
            if i == 2:
                shutil.copy(d + "/late/rcv_2.csv", d + "/inbox/receipts/rcv_2.csv")
                orc.events += sc["late_events"]
            apply_edits(sc, d, i, orc)
            cmd = [BIN, "run", "--quiet", "--config", cfg, "--as-of", asof_arg(night, sc["tzname"])] + (["--full"] if full else [])
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                diffs.append(f"N{n} exit {p.returncode}: {p.stderr[:500]}")
                break
            res = orc.night(D, n)
            compare(sc, d, res, n, diffs)
        if mode == "backfill" and not diffs and len(sc["nights"]) > 1:
            j = R.randrange(0, len(sc["nights"]) - 1)
            n += 1
            p = subprocess.run([BIN, "run", "--quiet", "--config", cfg, "--as-of", asof_arg(sc["nights"][j], sc["tzname"])], capture_output=True, text=True)
            res = orc.night(sc["Ds"][j], n, backfill=True)
            compare(sc, d, res, n, diffs, excs=False, tag="backfill ")
            last = sc["nights"][-1]
            nxt = (last.date() if isinstance(last, dt.datetime) else last) + dt.timedelta(days=1)
            n += 1
            p = subprocess.run([BIN, "run", "--quiet", "--config", cfg, "--as-of", nxt.isoformat()], capture_output=True, text=True)
            res = orc.night(end_of_day(nxt, tz), n)
            compare(sc, d, res, n, diffs, tag="after-backfill ")
    if not diffs and not keep:
        shutil.rmtree(d, ignore_errors=True)
    return sc, diffs


if __name__ == "__main__":
    # scenarios.py FIRST END [--full] [--suite]: seeds FIRST..END-1; with
    # --suite one "ok oracle_seed_N" or "FAIL oracle_seed_N: ..." line per
    # seed (tests/run.sh counts them)
    a, b = int(sys.argv[1]), int(sys.argv[2])
    full = "--full" in sys.argv
    suite = "--suite" in sys.argv
    ok = 0
    for s in range(a, b):
        try:
            sc, diffs = run_scenario(s, full=full)
        except Exception as ex:
            import traceback
            traceback.print_exc()
            print(f"FAIL oracle_seed_{s}: crash {ex}" if suite else f"seed {s}: CRASH {ex}")
            continue
        if diffs:
            head = (f"{len(diffs)} diffs ({sc['mode']}, {sc['tzname']}, nights {[str(x) for x in sc['nights']]},"
                    f" late_return={sc['policy'].late_return})")
            print(f"FAIL oracle_seed_{s}: {head}" if suite else f"seed {s}: {head}")
            for x in diffs[:12]:
                print("   ", x)
        else:
            ok += 1
            if suite:
                print(f"ok oracle_seed_{s}")
    print(f"agreed {ok}/{b-a}")
