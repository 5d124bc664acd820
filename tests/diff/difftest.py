#!/usr/bin/python3
"""difftest.py - randomized, multi-night differential test of carerecon:
incremental nights (copy A) against nights over everything (copy B, --full).

  /usr/bin/python3 tests/diff/difftest.py --seed N [--mode wild|hold] [--keep] [--nights K]

(tests/e2e/test_diff.sh runs a few seeds in the suite; more by hand, e.g.
 for s in $(seq 1 200); do tests/diff/difftest.py --seed $s --mode wild; done)
CARERECON_BIN names the binary (default ./carerecon of this repository),
DIFFTEST_WORK the folder to work in (default: a new temporary one, removed
unless --keep).

Builds WORK/sN/{A,B}: a claim database following fixtures/claims.sql,
the shipped config (config/carerecon.yaml), and for each night drops new inbox
files (depot check-ins, carrier scans, processor settlement reports, in the
fixture layouts) into both copies, edits the claim database in both, runs
   carerecon run --config A/config/carerecon.yaml --as-of X
   carerecon run --config B/config/carerecon.yaml --as-of X --full
and compares action rows, exceptions, claim_state and the night's workbooks.
Settlement rows are made from the action files copy A wrote.
Prints one JSON line: {"seed":..,"nights":..,"agreed":..,"diverged_at":..}.
"""
import argparse, datetime as dt, json, os, random, shutil, sqlite3, subprocess, sys
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("CARERECON_BIN", SRC + "/carerecon")
WORK = os.environ.get("DIFFTEST_WORK") or None   # set in main()
PARTS = 0                                          # --parts

MODELS = [("Mavic 3 Pro", 219900, 18900), ("Mini 4 Pro", 75900, 7900), ("Air 3", 109900, 10900),
          ("Osmo Mobile 6", 13900, 2900), ("Avata 2", 49900, 6900), ("Osmo Pocket 3", 51900, 4900),
          ("Ronin RS 4", 54900, 5900), ("Osmo Action 4", 39900, 3900)]
SN_ALPHA = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NEAR = {"0": "O", "O": "0", "1": "I", "I": "1", "L": "1", "S": "5", "5": "S"}

COLS = ["claim_id", "plan", "region", "product_model", "registered_sn", "battery_registered",
        "product_value", "currency", "service_fee", "preauth_ref", "preauth_amount", "card_brand",
        "paid_at", "return_days", "refresh_expires_on", "replacements_left", "status"]

SETTLE_HDR = ("Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,"
              "Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),"
              "Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),"
              "Commission (NC),Batch Number")
DEPOT_HDR = "RMA No,Tracking No,Checked In,Serial No,Battery Returned (Y/N),Genuine (Y/N),Technician,Notes"
CARRIER_HDR = ("Tracking Number,Activity Code,Activity Date,Activity Time,Reference Number 1,"
               "Reference Number 2,Shipper Name,Shipper City,Shipper State,Package Weight")
TZS = {"PST": -8, "PDT": -7, "CET": 1, "CEST": 2}
EXP = {"JPY": 0}


def q(s):
    s = "" if s is None else str(s)
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def money(minor, cur):
    e = EXP.get(cur, 2)
    if e == 0:
        return str(minor)
    neg = minor < 0
    minor = abs(minor)
    return ("-" if neg else "") + "%d.%02d" % (minor // 100, minor % 100)


def end_of_day(d):
    return dt.datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=NY).astimezone(UTC)


class Gen:
    def __init__(self, seed, nights=None, verbose=False, mode=""):
        self.seed = seed
        self.r = random.Random(seed)
        self.verbose = verbose
        self.dir = os.path.join(WORK, "s%d" % seed)
        self.envs = [os.path.join(self.dir, "A"), os.path.join(self.dir, "B")]
        self.nnights = nights
        self.used_tracking = set()
        self.used_refs = set()
        self.files = {}            # inbox path (kind/name) -> list of lines (for re-sends)
        self.pending_rows = []     # (drop_after instant, kind, file-prefix, row-spec)
        self.log = []
        self.acted = {}
        self.freed = []
        self.mode = mode

    # --- the business -----------------------------------------------------
    def serial(self, prefix=None):
        r = self.r
        p = prefix or r.choice(["1581F", "9GSCJ", "3XSCK", "5RNSG", "Q2RDH"])
        return p + "".join(r.choice(SN_ALPHA) for _ in range(r.randint(8, 10)))

    def near(self, sn):
        idx = [i for i, c in enumerate(sn) if c in NEAR and i >= 3]
        if not idx:
            i = self.r.randrange(3, len(sn))
            sn = sn[:i] + "0" + sn[i + 1:]
            idx = [i]
        i = self.r.choice(idx)
        return sn[:i] + NEAR[sn[i]] + sn[i + 1:]

    def tracking(self):
        while True:
            t = "1Z9R4E81" + "".join(self.r.choice("0123456789") for _ in range(10))
            if t not in self.used_tracking:
                self.used_tracking.add(t)
                return t

    def pref(self):
        while True:
            t = "88" + "".join(self.r.choice("0123456789") for _ in range(14))
            if t not in self.used_refs:
                self.used_refs.add(t)
                return t

    def make_claim(self, i, paid):
        r = self.r
        premium = r.random() < 0.7
        model, value, fee = r.choice(MODELS)
        if premium:
            region, cur = r.choice([("US", "USD")] * 18 + [("CA", "CAD"), ("GB", "GBP")])
        else:
            region, cur = r.choice([("US", "USD")] * 4 + [("CA", "CAD"), ("JP", "JPY"), ("GB", "GBP")])
        if cur == "JPY":
            value, fee = value // 100 * 150 // 100 * 100, fee // 100 * 150
        c = dict(claim_id="CE2611-%06d" % (100000 + i), plan="premium" if premium else "basic",
                 region=region, product_model=model, registered_sn=self.serial(),
                 battery_registered=1 if r.random() < 0.4 else 0, product_value=value,
                 currency=cur, service_fee=fee, preauth_ref=None, preauth_amount=None,
                 card_brand=r.choice(["visa"] * 8 + ["mastercard"] * 7 + ["amex"] * 3 +
                                     ["discover", None, "Visa ", "MasterCard"]),
                 paid_at=None, return_days=r.choice([None] * 6 + [7, 10, 14, 30]),
                 refresh_expires_on=None, replacements_left=r.choice([2] * 12 + [1, 0]),
                 status="active" if r.random() < 0.93 else "cancelled")
        if premium:
            x = r.random()
            if x < 0.05:
                c["preauth_ref"], c["preauth_amount"] = None, value
            elif x < 0.08:
                c["preauth_ref"], c["preauth_amount"] = self.pref(), 0
            else:
                c["preauth_ref"] = self.pref()
                c["preauth_amount"] = value if r.random() < 0.85 else value + r.choice([-5000, 10000, 16000])
        pd = paid.astimezone(NY)
        fmt = r.random()
        if fmt < 0.7:
            c["paid_at"] = pd.isoformat(timespec="seconds")
        elif fmt < 0.85:
            c["paid_at"] = paid.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            c["paid_at"] = paid.astimezone(LA).isoformat(timespec="seconds")
        if r.random() < 0.01:
            c["paid_at"] = "2026-11-31T10:00:00Z"   # CLAIM_DATA_INVALID
        exp = pd.date() + dt.timedelta(days=r.randint(60, 700))
        if r.random() < 0.03:
            exp = pd.date() - dt.timedelta(days=r.randint(1, 30))
        c["refresh_expires_on"] = exp.isoformat()
        c["_paid"] = paid
        return c

    def build_nights(self):
        r = self.r
        k = self.nnights or r.randint(10, 14)
        d = dt.date(2026, 11, 6) + dt.timedelta(days=r.randint(0, 8))
        nights = []
        maxd = None
        clock = None
        for i in range(k):
            if len(nights) >= k:
                break
            x = r.random()
            if i > 1 and x < 0.08 and maxd:
                # a backfill of an earlier date
                bd = maxd - dt.timedelta(days=r.randint(1, 5))
                nights.append(dict(kind="asof", arg=bd.isoformat(), D=end_of_day(bd), clock=clock))
                if self.mode == "wild" and r.random() < 0.6:
                    # then forward again from the backfilled date, below the latest
                    while len(nights) < k and bd < maxd and r.random() < 0.7:
                        bd += dt.timedelta(days=1)
                        nights.append(dict(kind="asof", arg=bd.isoformat(), D=end_of_day(bd), clock=clock))
                    if len(nights) >= k:
                        break
                continue
            if i > 0 and x < 0.13:
                a = maxd + dt.timedelta(days=r.randint(0, 1))
                b = a + dt.timedelta(days=r.randint(1, 2))
                clock = max(clock, end_of_day(b))
                maxd = b
                nights.append(dict(kind="range", arg=(a.isoformat(), b.isoformat()), D=end_of_day(b), clock=clock))
                continue
            if i == 0:
                nd = d
            elif x < 0.22:
                nd = maxd            # the same date again
            else:
                nd = maxd + dt.timedelta(days=r.choice([1] * 6 + [2, 2, 3, 4]))
            if r.random() < 0.1:
                hh = r.randint(6, 20)
                D = dt.datetime(nd.year, nd.month, nd.day, hh, r.choice([0, 30]), tzinfo=NY).astimezone(UTC)
                arg = "%sT%02d:%02d" % (nd.isoformat(), hh, D.astimezone(NY).minute)
            else:
                D = end_of_day(nd)
                arg = nd.isoformat()
            maxd = nd if maxd is None else max(maxd, nd)
            clock = D if clock is None else max(clock, D)
            nights.append(dict(kind="asof", arg=arg, D=D, clock=clock))
        self.nights = nights
        self.start = nights[0]["D"]
        self.end = max(n["clock"] for n in nights)

    def drop_night(self, t, lag=0.0):
        """index of the first night whose clock reaches t + lag days"""
        t2 = t + dt.timedelta(days=lag)
        for i, n in enumerate(self.nights):
            if n["clock"] >= t2:
                return i
        return None

    def build_business(self):
        r = self.r
        n = r.randint(50, 400)
        span0 = self.start - dt.timedelta(days=24)
        span = (self.end - span0).total_seconds()
        self.claims = []
        for i in range(n):
            paid = span0 + dt.timedelta(seconds=r.random() * span * 0.95)
            paid = paid.replace(microsecond=0)
            c = self.make_claim(i, paid)
            # when the claim reaches the claim database
            add = self.drop_night(paid, r.choice([-2, -0.5, 0, 0, 0, 0.3, 1, 4]))
            if add is None:
                continue
            if r.random() < 0.75 and paid <= self.nights[0]["clock"]:
                add = 0
            c["_add"] = add
            self.claims.append(c)
        # serials registered twice, shared holds
        for c in self.claims:
            x = r.random()
            if x < 0.02:
                c["registered_sn"] = r.choice(self.claims)["registered_sn"]
            elif x < 0.04:
                o = r.choice(self.claims)
                if o["preauth_ref"] and c["plan"] == "premium":
                    c["preauth_ref"] = o["preauth_ref"]
        self.stories()

    def stories(self):
        """the receipt events of each claim's return, as rows to drop"""
        r = self.r
        self.events = []   # dict(kind, at, claim, fields...)
        for c in self.claims:
            paid = c["_paid"]
            if r.random() < 0.12:
                continue           # never sent back
            trk = self.tracking() if r.random() > 0.03 or not self.events else r.choice(self.events)["trk"]
            ship = paid + dt.timedelta(hours=r.uniform(3, 24 * r.choice([2, 4, 8, 14, 20])))
            deliv = ship + dt.timedelta(hours=r.uniform(20, 24 * 7))
            chk = deliv + dt.timedelta(hours=r.uniform(0.5, 24 * r.choice([1, 2, 3, 6])))
            ref = lambda: c  # resolved at write time
            if r.random() < 0.85:
                self.events.append(dict(kind="P", at=ship, c=c, trk=trk))
            if r.random() < 0.1:
                self.events.append(dict(kind="I", at=ship + dt.timedelta(hours=10), c=c, trk=trk))
            if r.random() < 0.85:
                self.events.append(dict(kind="D", at=deliv, c=c, trk=trk))
            if r.random() < 0.85:
                self.events.append(self.checkin(c, chk, trk))
                if r.random() < 0.05:
                    self.events.append(self.checkin(c, chk + dt.timedelta(hours=r.uniform(0, 30)), trk,
                                                    serial=self.serial()))
                if r.random() < 0.02:   # two units in one box, one check-in time
                    o = r.choice(self.claims)
                    self.events.append(self.checkin(o, chk, trk))
        # unmatched receipts
        for _ in range(r.randint(0, 4)):
            t = self.start - dt.timedelta(days=r.uniform(-5, 10))
            self.events.append(dict(kind="R", at=t, c=None, trk=self.tracking(), serial=self.serial(),
                                    batt="Y", gen="Y", reftext=""))
        for e in self.events:
            if self.r.random() < 0.04:
                # dated after the night that brings it
                i = self.drop_night(e["at"], -self.r.uniform(0.2, 2.5))
            else:
                i = self.drop_night(e["at"], self.r.choice([0, 0, 0, 0, 0.5, 1, 1, 2, 3, 6]))
            e["night"] = i
            if i is not None and self.r.random() < 0.03:
                e["dup_night"] = min(len(self.nights) - 1, i + self.r.randint(0, 2))

    def checkin(self, c, at, trk, serial=None):
        r = self.r
        sn = c["registered_sn"]
        x = r.random()
        if serial:
            sn = serial
        elif x < 0.08:
            sn = self.near(sn)
        elif x < 0.14:
            sn = self.serial()
        elif x < 0.2:
            sn = "]C1 " + "-".join([sn[:5].lower(), sn[5:]])
        batt = "Y"
        if c["battery_registered"] and r.random() < 0.15:
            batt = "N"
        elif not c["battery_registered"] and r.random() < 0.3:
            batt = "N"
        gen = "Y" if r.random() < 0.93 else "N"
        return dict(kind="R", at=at, c=c, trk=trk, serial=sn, batt=batt, gen=gen)

    # --- rendering rows -----------------------------------------------------
    def refname(self, c, carrier=False):
        r = self.r
        if c is None:
            return ""
        x = r.random()
        cid = c["claim_id"]
        if x < 0.1:
            return ""
        if x < 0.16:
            return cid.lower()
        if x < 0.2:
            return " " + cid + " "
        if x < 0.22 and not carrier:
            return cid[:-1] + "9"        # a mistyped reference
        return cid

    def depot_row(self, e, bad=False):
        r = self.r
        ref = e.get("reftext")
        if ref is None:
            ref = self.refname(e["c"])
        at = e["at"].astimezone(NY).isoformat(timespec="seconds")
        sn, batt, gen = e["serial"], e["batt"], e["gen"]
        if bad:
            x = r.randrange(4)
            if x == 0:
                batt = "unsure"
            elif x == 1:
                sn = ""
            elif x == 2:
                at = "2026-11-31T10:00:00-05:00"
            else:
                gen = "maybe"
        return ",".join(q(v) for v in [ref, e["trk"], at, sn, batt, gen, r.choice(["J. Ortiz", "M. Chen"]),
                                       r.choice(["", "", "box damaged", 'said "ok", fine'])])

    def carrier_row(self, e, bad=False):
        r = self.r
        ref = self.refname(e["c"], carrier=True)
        if r.random() < 0.15:
            ref = ""
        loc = e["at"].astimezone(LA)
        code = e["kind"]
        d, t = loc.strftime("%Y%m%d"), loc.strftime("%H%M%S")
        if bad:
            if r.random() < 0.5:
                code = "M"
            else:
                d = "20261131"
        return ",".join(q(v) for v in [e["trk"], code, d, t, ref, "CARE EXPRESS RETURN", "A. Person",
                                       "Denver", "CO", "1.2"])

    def settle_row(self, s, bad=False):
        r = self.r
        tzn = s.get("tz") or r.choice(["PST"] * 6 + ["CET", "PDT", "CEST"])
        loc = s["at"] + dt.timedelta(hours=TZS[tzn])
        amount = "" if s.get("amount") is None else money(s["amount"], s["cur"])
        if bad:
            amount = amount.replace(".", ",") if "." in amount else "1.234"
        brand = s.get("brand") or ""
        brand = {"mastercard": "mc"}.get(brand, brand)
        cells = ["CareExpressCOM", "CareExpressUS", s.get("psp") or "", s.get("merchant") or "", brand,
                 loc.strftime("%Y-%m-%d %H:%M:%S"), tzn, s["type"], "889%013d" % r.randrange(10 ** 12),
                 s.get("cur") or "", "", amount, "1", s.get("cur") or "", "", amount, "0.10", "413"]
        if bad and r.random() < 0.5:
            cells = cells[:10]
        return ",".join(q(v) for v in cells)

    # --- the environments -----------------------------------------------------
    def setup(self):
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        for e in self.envs:
            os.makedirs(e + "/fixtures/inbox/receipts")
            os.makedirs(e + "/fixtures/inbox/settlements")
            shutil.copytree(SRC + "/config", e + "/config")
            db = sqlite3.connect(e + "/fixtures/claims.db")
            db.executescript(open(SRC + "/fixtures/claims.sql").read().split("BEGIN;")[0])
            db.commit()
            db.close()

    def sql(self, stmt, args=()):
        for e in self.envs:
            db = sqlite3.connect(e + "/fixtures/claims.db")
            db.execute(stmt, args)
            db.commit()
            db.close()
        self.log.append((stmt, args))

    def insert(self, c):
        self.sql("INSERT INTO claims(%s) VALUES(%s)" % (",".join(COLS), ",".join("?" * len(COLS))),
                 [c[k] for k in COLS])
        c["_in"] = True

    def write(self, kind, name, lines, bom=False, crlf=False):
        text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")
        data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
        for e in self.envs:
            p = "%s/fixtures/inbox/%s/%s" % (e, kind, name)
            with open(p, "wb") as f:
                f.write(data)
        self.files[(kind, name)] = dict(lines=lines, bom=bom, crlf=crlf)

    def edit_claims(self, i):
        r = self.r
        live = [c for c in self.claims if c.get("_in")]
        if not live:
            return
        # a claim deleted on an earlier night (kept for its payment action,
        # if it has one) entered again with its id in another case
        gone = [c for c in self.claims if not c.get("_in")]
        if gone and r.random() < 0.25:
            c = r.choice(gone)
            cid = c["claim_id"]
            new = cid.lower() if cid != cid.lower() else cid.upper()
            if new != cid and not any(o["claim_id"] == new for o in self.claims):
                c["claim_id"] = new
                self.insert(c)
                live.append(c)
        for _ in range(r.choice([0, 0, 1, 1, 2, 3, 5] if self.mode != "wild" else [1, 2, 3, 5, 8])):
            c = r.choice(live)
            x = r.random() if self.mode not in ("hold", "wild") else r.choice([r.random(), r.random(), 0.99])
            cid = c["claim_id"]
            if x < 0.14:
                c["status"] = "cancelled" if c["status"] == "active" else "active"
                self.sql("UPDATE claims SET status=? WHERE claim_id=?", (c["status"], cid))
            elif x < 0.28:
                y = r.random()
                sn = self.near(c["registered_sn"]) if y < 0.3 else (
                    r.choice(live)["registered_sn"] if y < 0.55 else self.serial())
                c["registered_sn"] = sn
                self.sql("UPDATE claims SET registered_sn=? WHERE claim_id=?", (sn, cid))
            elif x < 0.4:
                c["return_days"] = r.choice([None, 7, 10, 21, 30])
                self.sql("UPDATE claims SET return_days=? WHERE claim_id=?", (c["return_days"], cid))
            elif x < 0.5:
                c["plan"] = "basic" if c["plan"] == "premium" else "premium"
                if c["plan"] == "premium" and not c["preauth_ref"] and r.random() < 0.7:
                    c["preauth_ref"], c["preauth_amount"] = self.pref(), c["product_value"]
                self.sql("UPDATE claims SET plan=?, preauth_ref=?, preauth_amount=? WHERE claim_id=?",
                         (c["plan"], c["preauth_ref"], c["preauth_amount"], cid))
            elif x < 0.6:
                if r.random() < 0.6:
                    continue
                new = r.choice([cid.lower(), cid + " ", " " + cid, cid.upper().strip()])
                if new != cid and not any(o["claim_id"] == new for o in self.claims):
                    c["claim_id"] = new
                    self.sql("UPDATE claims SET claim_id=? WHERE claim_id=?", (new, cid))
            elif x < 0.72:
                y = r.random()
                ref = self.pref() if y < 0.5 else (None if y < 0.6 else r.choice(live)["preauth_ref"])
                c["preauth_ref"] = ref
                self.sql("UPDATE claims SET preauth_ref=? WHERE claim_id=?", (ref, cid))
            elif x < 0.78:
                c["card_brand"] = r.choice(["visa", "mastercard", "amex", "discover", None])
                self.sql("UPDATE claims SET card_brand=? WHERE claim_id=?", (c["card_brand"], cid))
            elif x < 0.84:
                c["preauth_amount"] = r.choice([None, 0, c["product_value"], c["product_value"] + 5000])
                self.sql("UPDATE claims SET preauth_amount=? WHERE claim_id=?", (c["preauth_amount"], cid))
            elif x < 0.9:
                # a claim entered twice: id differing in case/spaces, or another id with its hold
                d = dict(c)
                d["claim_id"] = r.choice([cid.lower(), cid + " ", cid + "-R"])
                if any(o["claim_id"] == d["claim_id"] for o in self.claims):
                    continue
                if r.random() < 0.5:
                    d["registered_sn"] = self.serial()
                self.claims.append(d)
                self.insert(d)
            elif x < 0.93:
                if r.random() < 0.6:
                    continue
                self.sql("DELETE FROM claims WHERE claim_id=?", (cid,))
                c["_in"] = False
                live.remove(c)
            elif x < 0.97:
                c["paid_at"] = (c["_paid"] - dt.timedelta(days=r.randint(1, 5))).astimezone(NY).isoformat(timespec="seconds")
                self.sql("UPDATE claims SET paid_at=? WHERE claim_id=?", (c["paid_at"], cid))
            elif x < 0.975 and self.mode == "wild" and r.random() < 0.7:
                col = r.choice(["service_fee", "product_value", "currency", "battery_registered", "region"])
                v = {"service_fee": c["service_fee"] + r.choice([-1000, 1000]),
                     "product_value": c["product_value"] + r.choice([-10000, 20000]),
                     "currency": r.choice(["USD", "CAD", "usd"]),
                     "battery_registered": 1 - c["battery_registered"],
                     "region": r.choice(["US", "CA", "us"])}[col]
                c[col] = v
                self.sql("UPDATE claims SET %s=? WHERE claim_id=?" % col, (v, cid))
            elif x < 0.975:
                c["replacements_left"] = r.choice([0, 1, 2])
                self.sql("UPDATE claims SET replacements_left=? WHERE claim_id=?", (c["replacements_left"], cid))
            else:
                self.hold_edit(live)
            if not live:
                return

    def hold_edit(self, live):
        """a hold reference corrected after its action, and the old one reused"""
        r = self.r
        byid = {c["claim_id"]: c for c in live}
        acted = [byid[cid] for ref, cid in self.acted.items() if cid in byid and byid[cid]["preauth_ref"] == ref]
        if self.mode == "wild":
            self.freed = []      # wild: holds move, never reused (that is finding HOLD2)
        if self.freed and (r.random() < 0.5 or not acted):
            ref, y = r.choice(self.freed)
            if r.random() < 0.5:
                d = dict(y)
                d["claim_id"] = y["claim_id"] + "-R%d" % r.randrange(100)
                if any(o["claim_id"] == d["claim_id"] for o in self.claims):
                    return
                d["registered_sn"] = self.serial()
                d["preauth_ref"] = ref
                d["status"] = "active"
                self.claims.append(d)
                self.insert(d)
            else:
                c = r.choice(live)
                c["preauth_ref"] = ref
                self.sql("UPDATE claims SET preauth_ref=? WHERE claim_id=?", (ref, c["claim_id"]))
        elif acted:
            y = r.choice(acted)
            self.freed.append((y["preauth_ref"], dict(y)))
            y["preauth_ref"] = self.pref()
            self.sql("UPDATE claims SET preauth_ref=? WHERE claim_id=?", (y["preauth_ref"], y["claim_id"]))

    def settlement_rows_for_claims(self):
        """fees, refunds, chargebacks, stray captures, unmatched rows"""
        r = self.r
        rows = []
        for c in self.claims:
            if r.random() < 0.25:
                amt = c["service_fee"] if r.random() < 0.85 else c["service_fee"] - 1000
                rows.append(dict(type="Fee", at=c["_paid"] + dt.timedelta(minutes=5), c=c, psp=self.pref(),
                                 amount=amt, cur=c["currency"], brand=c["card_brand"]))
            x = r.random()
            if x < 0.02:
                rows.append(dict(type="Refunded", at=c["_paid"] + dt.timedelta(days=r.uniform(1, 15)), c=c,
                                 psp=self.pref(), amount=c["service_fee"], cur=c["currency"]))
            elif x < 0.03:
                rows.append(dict(type="Chargeback", at=c["_paid"] + dt.timedelta(days=r.uniform(1, 15)), c=c,
                                 psp=self.pref(), amount=c["service_fee"], cur=c["currency"]))
            elif x < 0.05 and c["preauth_ref"]:
                rows.append(dict(type=r.choice(["Settled", "Cancelled", "Expired"]),
                                 at=c["_paid"] + dt.timedelta(days=r.uniform(1, 15)), c=c, hold=True,
                                 amount=c["preauth_amount"], cur=c["currency"]))
        for _ in range(r.randint(0, 3)):
            rows.append(dict(type="Settled", at=self.start - dt.timedelta(days=r.uniform(-4, 4)), c=None,
                             psp=self.pref(), merchant="PO-2026-%06d" % r.randrange(10 ** 6),
                             amount=r.randint(1000, 90000), cur="USD"))
        for s in rows:
            s["night"] = self.drop_night(s["at"], r.choice([0, 0, 0.5, 1, 2]))
        return rows

    def resolve_settle(self, s):
        """fills psp/merchant from the claim as it is now"""
        c = s.get("c")
        if c is not None:
            if s.get("hold") or s.get("psp") is None:
                s["psp"] = c["preauth_ref"] if self.r.random() < 0.9 else ""
            if s.get("merchant") is None:
                m = c["claim_id"]
                s["merchant"] = m.lower() if self.r.random() < 0.05 else m
            if "brand" not in s:
                s["brand"] = c["card_brand"] or ""
        return s

    def rows_from_actions(self, i):
        """settlement rows confirming (or not) the payment actions copy A issued at night i"""
        r = self.r
        st = sqlite3.connect(self.envs[0] + "/var/carerecon.db")
        runs = dict(st.execute("select run_id, as_of from runs"))
        st.close()
        acts = []
        adir = self.envs[0] + "/fixtures/../reports/actions"
        for name in sorted(os.listdir(adir)):
            if not name.startswith("payment_actions_") or name in self.seen_action_files:
                continue
            self.seen_action_files.add(name)
            run = int(name.rsplit("_run", 1)[1].split(".")[0])
            issued = dt.datetime.fromtimestamp(runs[run], UTC)
            for line in open(os.path.join(adir, name)).read().splitlines()[1:]:
                key, action, psp, cid, amount, cur, reason = line.split(",")[:7]
                acts.append((issued, action, psp, cid, amount, cur))
                self.acted[psp] = cid
        out = []
        byid = {c["claim_id"]: c for c in self.claims}
        for issued, action, psp, cid, amount, cur in acts:
            c = byid.get(cid)
            brand = (c["card_brand"] or "") if c else ""
            minor = int(round(float(amount) * (10 ** EXP.get(cur, 2))))
            x = r.random()
            if x < 0.12:
                continue          # never confirmed
            at = issued + dt.timedelta(hours=r.uniform(-3 if r.random() < 0.05 else 0.2, 90))
            s = dict(at=at, psp=psp if r.random() < 0.9 else "", merchant=cid, cur=cur, brand=brand)
            if r.random() < 0.04:
                s["brand"] = r.choice(["visa", "amex", "mastercard"])
            if action == "capture":
                s["type"] = "Settled"
                s["amount"] = minor
                y = r.random()
                if y < 0.07:
                    s["amount"] = minor - r.choice([100, 10000])
                elif y < 0.1:
                    s["cur"] = "CAD" if cur != "CAD" else "USD"
                if r.random() < 0.06:
                    d = dict(s)
                    d["at"] = at + dt.timedelta(hours=r.uniform(-30, 30))
                    out.append(d)
            else:
                s["type"] = "Cancelled" if r.random() < 0.95 else "Settled"
                s["amount"] = None if s["type"] == "Cancelled" else minor
            if r.random() < 0.03:
                s["type"] = "Expired"
                s["amount"] = None
            out.append(s)
        for s in out:
            # rows reach the inbox a night or more after they are booked
            j = self.drop_night(s["at"], r.choice([0, 0, 0.5, 1, 3]))
            s["night"] = max(j, i + 1) if j is not None else None
            if r.random() < 0.04:
                s["night"] = i + 1      # possibly dated after that night
        return out

    # --- a night --------------------------------------------------------------
    def drop_files(self, i):
        r = self.r
        n = self.nights[i]
        tag = n["D"].astimezone(NY).strftime("%Y%m%d")
        suffix = "" if not any(k[1].endswith(tag + ".csv") for k in self.files) else "_%d" % i
        dep, car, bad_dep, bad_car = [], [], [], []
        for e in self.events:
            for when in (e.get("night"), e.get("dup_night")):
                if when != i:
                    continue
                if e["kind"] == "R":
                    dep.append(self.depot_row(e, bad=r.random() < 0.02))
                    if r.random() < 0.02:
                        dep.append(dep[-1])       # the same row twice in a file
                else:
                    car.append(self.carrier_row(e, bad=r.random() < 0.02))
        r.shuffle(dep)
        r.shuffle(car)
        if dep:
            self.write("receipts", "depot_%s%s.csv" % (tag, suffix),
                       ["Service Center Check-in Export", "Generated %s 23:00" % tag, DEPOT_HDR] + dep,
                       bom=r.random() < 0.3, crlf=r.random() < 0.2)
        if car:
            self.write("receipts", "carrier_%s%s.csv" % (tag, suffix), [CARRIER_HDR] + car,
                       crlf=r.random() < 0.2)
        srows = [self.resolve_settle(s) for s in self.settles if s.get("night") == i]
        if srows:
            srows.sort(key=lambda s: s["at"])
            lines = [self.settle_row(s, bad=r.random() < 0.02) for s in srows]
            self.write("settlements", "settlement_detail_report_batch_%s%s.csv" % (tag, suffix),
                       [SETTLE_HDR] + lines, bom=r.random() < 0.3)
        # a corrected re-send of an earlier file under its name
        old = [k for k in self.files if not k[1].endswith("%s%s.csv" % (tag, suffix))]
        if old and r.random() < 0.3:
            k = r.choice(old)
            f = self.files[k]
            lines = list(f["lines"])
            head = 3 if k[1].startswith("depot") else 1
            body = lines[head:]
            if body:
                j = r.randrange(len(body))
                cells = body[j].split(",")
                y = r.random()
                if k[1].startswith("depot") and len(cells) >= 6 and y < 0.5:
                    cells[5] = "N" if cells[5] == "Y" else "Y"
                    if r.random() < 0.5:
                        cells[4] = "N" if cells[4] == "Y" else "Y"
                    body[j] = ",".join(cells)
                elif k[1].startswith("settlement") and len(cells) > 5 and y < 0.5:
                    cells[4] = r.choice(["visa", "mc", "amex"])
                    body[j] = ",".join(cells)
                elif y < 0.75:
                    del body[j]
                else:
                    body.append(body[j])
            self.write(k[0], k[1], lines[:head] + body, f["bom"], f["crlf"])
            self.log.append(("resend", k))
        # the same content under another name
        if old and r.random() < 0.05:
            k = r.choice(old)
            f = self.files[k]
            self.write(k[0], k[1].replace(".csv", "_copy%d.csv" % i), f["lines"], f["bom"], f["crlf"])
        # a file rejected whole, once in a while
        if r.random() < 0.03:
            self.write("receipts", "depot_%s_broken%d.csv" % (tag, i),
                       ["Service Center Check-in Export v2", "Generated", DEPOT_HDR.replace("Checked In", "Check-in Time"),
                        "CE2611-100001,1Z,2026-11-21T12:00:00-05:00,X,Y,Y,R,"])

    def run(self, i):
        n = self.nights[i]
        rcs = []
        for e, full in ((self.envs[0], False), (self.envs[1], True)):
            if n["kind"] == "range":
                args = ["--from", n["arg"][0], "--to", n["arg"][1]]
            else:
                args = ["--as-of", n["arg"]]
            cmd = [BIN, "run", "--config", e + "/config/carerecon.yaml"] + args + (["--full"] if full else ["--verbose"])
            env = dict(os.environ)
            env.pop("CARERECON_PART_CLAIMS", None)
            if full and PARTS:
                env["CARERECON_PART_CLAIMS"] = str(PARTS)   # the night over everything in parts
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
            rcs.append(p.returncode)
            if not full:
                self.incr += p.stderr.count("incremental night:")
            if p.returncode not in (0, 65):
                self.log.append(("rc", i, e, p.returncode, p.stderr[-2000:]))
        return rcs

    def snapshot(self, e, books):
        out = []
        adir = e + "/reports/actions"
        rows = []
        for name in sorted(os.listdir(adir)):
            if name.endswith(".csv"):
                for line in open(os.path.join(adir, name)).read().splitlines()[1:]:
                    rows.append("action " + line)
        out += sorted(rows)
        out.append("files " + " ".join(sorted(os.listdir(adir))))
        st = sqlite3.connect(e + "/var/carerecon.db")
        for row in st.execute("select exc_id, code, status, first_seen, coalesce(claim_id,'') from exceptions order by exc_id"):
            out.append("exc " + "|".join(map(str, row)))
        for row in st.execute("select claim_id, key, coalesce(norm_sn,''), coalesce(preauth_ref,''), decision,"
                              " coalesce(state,''), coalesce(wake_at,''), row_hash from claim_state order by claim_id"):
            out.append("cstate " + "|".join(map(str, row)))
        for row in st.execute("select claim_id, kind, action, run_id, coalesce(confirmed_row,''), coalesce(confirmed_at,'')"
                              " from actions order by claim_id, kind"):
            out.append("xaction " + "|".join(map(str, row)))
        for row in st.execute("select claim_id, run_id, decision, coalesce(reason,''), coalesce(state,''), coalesce(detail,'')"
                              " from decisions order by claim_id, run_id"):
            out.append("xdecision " + "|".join(map(str, row)))
        st.close()
        import openpyxl
        for b in books:
            wb = openpyxl.load_workbook(os.path.join(e, "reports", b), read_only=True)
            for ws in wb.worksheets:
                rows = []
                for row in ws.iter_rows(values_only=True):
                    if ws.title == "Summary" and row and row[0] in ("Run", "Generated at"):
                        continue
                    rows.append("%s %s %r" % (b, ws.title, row))
                # a night in parts lists its rows part by part: the same rows
                out += sorted(rows) if PARTS else rows
        return out

    def main(self):
        self.build_nights()
        self.build_business()
        self.setup()
        self.settles = self.settlement_rows_for_claims()
        self.seen_action_files = set()
        books_before = set()
        agreed = 0
        self.incr = 0
        for i, n in enumerate(self.nights):
            # the claim database as of this night
            self.log.append(("night", i, n["arg"]))
            if i > 0:
                self.edit_claims(i)
            for c in self.claims:
                if c.get("_add") == i and not c.get("_in") and "_gone" not in c:
                    self.insert(c)
            self.drop_files(i)
            rcs = self.run(i)
            books = sorted(b for b in os.listdir(self.envs[0] + "/reports") if b.endswith(".xlsx") and b not in books_before)
            books_before |= set(books)
            a, b = self.snapshot(self.envs[0], books), self.snapshot(self.envs[1], books)
            if a != b or rcs[0] != rcs[1]:
                import difflib
                d = list(difflib.unified_diff(b, a, "full(B)", "incremental(A)", lineterm="", n=0))
                return dict(seed=self.seed, nights=len(self.nights), agreed=agreed, diverged_at=i, incremental=self.incr,
                            night=n["arg"], rcs=rcs, diff=d[:60], ndiff=len(d),
                            plan=[x["arg"] for x in self.nights])
            agreed += 1
            self.settles += self.rows_from_actions(i)
        return dict(seed=self.seed, nights=len(self.nights), agreed=agreed, diverged_at=None, incremental=self.incr,
                    plan=[x["arg"] for x in self.nights])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--nights", type=int)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--mode", default="", help="wild: more edits of every kind; hold: hold references moved and reused")
    ap.add_argument("--parts", type=int, default=0,
                    help="the nights over everything (--full) decided in parts of this many claims")
    o = ap.parse_args()
    global WORK, PARTS
    PARTS = o.parts
    made = False
    if not WORK:
        import tempfile
        WORK = tempfile.mkdtemp(prefix="carerecon-diff-")
        made = True
    g = Gen(o.seed, o.nights, o.verbose, o.mode)
    res = g.main()
    if res["diverged_at"] is None and not o.keep:
        shutil.rmtree(g.dir, ignore_errors=True)
        if made:
            shutil.rmtree(WORK, ignore_errors=True)
    else:
        with open(os.path.join(g.dir, "log.json"), "w") as f:
            json.dump(dict(result=res, log=[list(map(str, x)) for x in g.log]), f, indent=1, default=str)
    print(json.dumps(res, default=str))


if __name__ == "__main__":
    main()
