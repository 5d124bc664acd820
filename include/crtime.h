/*
 * crtime.h - instants, calendar days, IANA time zones and date parsing.
 *
 * Everything inside carerecon is a cr_time_t in UTC.  Time zones are read
 * from the system's TZif files (/usr/share/zoneinfo, or $TZDIR), including
 * the POSIX-TZ footer rule for instants after the last listed transition.
 * No function here touches the process's TZ, localtime() or mktime().
 *
 * Local times that do not exist (the hour skipped when daylight time
 * starts) are read with the offset in force before the change, which moves
 * them forward by the gap (02:30 on a spring-forward night -> 03:30 daylight
 * time).  Local times that exist twice (the repeated hour when daylight
 * time ends) are read as the earlier instant (the daylight-time one).
 *
 * Every function taking a const cr_tz * treats NULL as UTC.  Instants
 * beyond +-2^50 s (about 35 million years) are clamped before calendar
 * arithmetic; all functions are safe on any input (they are fuzzed).
 */
#ifndef CR_CRTIME_H
#define CR_CRTIME_H

#include "cr.h"

typedef struct cr_tz cr_tz;

/* Loads zone NAME ("UTC", "America/Los_Angeles", ...).  Returns NULL when
 * the name is unknown or the file is not a valid TZif file.  A NAME that
 * contains ".." or starts with '/' is refused.
 * Details: NAME is 1-255 characters from [A-Za-z0-9_+-./]; "UTC" and
 * "Etc/UTC" are built in (no file needed); files are read from $TZDIR, else
 * /usr/share/zoneinfo.  TZif v1 uses its 32-bit data, v2+ the 64-bit data
 * and the POSIX TZ footer (Jn, n and Mm.w.d rules, times -167h..167h) for
 * instants after the last transition.  Leap-second ("right/") files, and
 * files with an unparsable footer, are refused. */
cr_tz *cr_tz_load(const char *name);
/* The same from the bytes of a TZif file, or from a POSIX TZ string alone
 * ("CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30", "EST5").  NAME is copied
 * (for cr_tz_from_posix a NULL NAME means SPEC).  NULL on invalid input. */
cr_tz *cr_tz_from_tzif(const char *name, const void *data, size_t len);
cr_tz *cr_tz_from_posix(const char *name, const char *spec);
void cr_tz_free(cr_tz *tz);
const char *cr_tz_name(const cr_tz *tz);

/* The UTC offset in seconds (east positive) in force at instant T. */
int32_t cr_tz_offset_at(const cr_tz *tz, cr_time_t t);

/* A broken-down civil time (no time zone). */
typedef struct cr_civil {
    int year, month, day;      /* month 1-12, day 1-31 */
    int hour, minute, second;  /* 0-23, 0-59, 0-59 */
} cr_civil;

/* The earlier of two instants, where CR_TIME_NONE means "none". */
cr_time_t cr_time_min(cr_time_t a, cr_time_t b);

/* Civil-date arithmetic (proleptic Gregorian). */
cr_day_t cr_days_from_civil(int y, int m, int d);
void cr_civil_from_days(cr_day_t days, int *y, int *m, int *d);
bool cr_civil_valid(const cr_civil *c);   /* month/day/hour/... in range, Feb 29 only in leap years; year 0-9999 */

/* Local civil time in TZ -> UTC instant, with the gap/overlap rule above. */
cr_time_t cr_tz_to_utc(const cr_tz *tz, const cr_civil *local);
/* UTC instant -> local civil time in TZ. */
void cr_tz_from_utc(const cr_tz *tz, cr_time_t t, cr_civil *out);

/* The calendar day (in TZ) that contains instant T. */
cr_day_t cr_tz_day_of(const cr_tz *tz, cr_time_t t);
/* The instant 23:59:59 of DAY in TZ ("end of day"), read with the
 * gap/overlap rule above. */
cr_time_t cr_tz_end_of_day(const cr_tz *tz, cr_day_t day);

/* "YYYY-MM-DD" -> day.  Rejects anything it does not fully read (no
 * surrounding spaces either). */
cr_err cr_parse_date(const char *s, cr_day_t *out);
/* ISO 8601 instant: "YYYY-MM-DDTHH:MM:SS" (or "YYYY-MM-DDTHH:MM") with optional ".fff" and a
 * required "Z" or "+HH:MM"/"+HHMM"/"+HH" offset; a space may stand for T.
 * Rejects anything it does not fully read.  The fraction is dropped; 't'
 * and 'z' are accepted too; offsets are -23:59..+23:59. */
cr_err cr_parse_iso_instant(const char *s, cr_time_t *out);
/* Offset text "+01:00", "-0700", "+05", "Z", "UTC", "GMT", "UTC+01:00",
 * "GMT-5" -> seconds east of UTC.  Letters in any case; nothing else
 * around them. */
cr_err cr_parse_offset(const char *s, int32_t *out);

/* strptime-style parsing of one date-time value.
 * Directives: %Y (4 digits) %y (2 digits, 2000-2068 / 1969-1999) %m %d %e
 * (1-2 digits) %H %I %M %S (2 digits, or 1-2 where the text is shorter) %p
 * (AM/PM) %f (fraction of a second, any digits: *FRACTION tells whether
 * it was other than zero; the civil time keeps the whole second) %b %h %B (English
 * month names, any case) %z (Z, +hh, +hhmm, +hh:mm) %T (= %H:%M:%S) %F
 * (= %Y-%m-%d) %% and literal text; a space in the format matches one or
 * more spaces or tabs.  The whole input must be read and every field must
 * be in range (2026-02-30, 25:61 are errors).  Fields the format does not
 * name default to 00.  *HAS_OFFSET tells whether %z was read; when it was,
 * *OFFSET holds it in seconds east of UTC (0 otherwise).
 * Choices beyond strptime: the format must name the year, month and day
 * (%Y/%y/%F, %m/%b/%h/%B/%F, %d/%e/%F), else every input fails; %I and %p
 * must be used together (12 AM = 00, 12 PM = 12) and %p is AM/PM only;
 * %b/%h/%B each accept full or three-letter names (full names tried first);
 * %e also accepts one leading space; %S is 0-59 (no leap second); numbers
 * read greedily up to their width; no sign is read except by %z.
 * Returns CR_OK or CR_EPARSE. */
cr_err cr_parse_datetime(const char *fmt, const char *s, cr_civil *out,
                         bool *has_offset, int32_t *offset, bool *fraction);

/* Formats T as "2026-11-20T19:03:55Z" into BUF (at least 21 bytes). */
void cr_format_utc(cr_time_t t, char *buf, size_t n);
/* Formats T as local time in TZ, "2026-11-20 11:03:55" (at least 20 bytes). */
void cr_format_local(const cr_tz *tz, cr_time_t t, char *buf, size_t n);
/* Formats T as local time in TZ with its UTC offset, "2026-11-20 11:03:55
 * -05:00" (at least 27 bytes), for text a person reads beside the
 * workbook's local date cells; a NULL TZ gives cr_format_utc's text. */
void cr_format_zoned(const cr_tz *tz, cr_time_t t, char *buf, size_t n);
/* Formats DAY as "2026-11-20" (at least 11 bytes). */
void cr_format_day(cr_day_t day, char *buf, size_t n);

#endif
