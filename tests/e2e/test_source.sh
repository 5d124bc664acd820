#!/usr/bin/env bash
# Source rules checked on every test run (curl's checksrc in small):
# banned functions, and SQL only from literal text with bound parameters.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
banned='\b(sprintf|vsprintf|strcat|strncat|strcpy|strncpy|strtok|atoi|atol|atof|gets|localtime|gmtime|asctime|ctime|mktime|tzset|sscanf|system|rand|setenv|putenv)[[:space:]]*\('
hits=$(grep -nE "$banned" src/*.c include/*.h | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)' || true)
if [ -z "$hits" ]; then ok no_banned_functions; else fail no_banned_functions "$(echo "$hits" | head -3 | tr '\n' ' ')"; fi

# SQL text is never formatted at run time: no printf-family call builds a
# statement, and no sqlite3_*printf is used at all
built=$(grep -nE '(snprintf|asprintf|sqlite3_mprintf|sqlite3_snprintf|sqlite3_vmprintf)[[:space:]]*\([^;]*(SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES)' src/*.c || true)
mp=$(grep -nE 'sqlite3_(v?mprintf|snprintf)' src/*.c || true)
if [ -z "$built$mp" ]; then ok sql_not_formatted; else fail sql_not_formatted "$(echo "$built$mp" | head -3 | tr '\n' ' ')"; fi

# SQL lives in one module
other=$(grep -lE 'sqlite3_(prepare|exec|step)' src/*.c | grep -v 'src/store.c' || true)
if [ -z "$other" ]; then ok sql_in_store_only; else fail sql_in_store_only "$other"; fi

# each outside library is spoken to by one module
lib_owner() { # HEADER FILE
    local who
    who=$(grep -l "#include <$1>" src/*.c | tr '\n' ' ')
    if [ "$who" = "$2 " ]; then ok "library_$1_in_$(basename "$2" .c)"; else fail "library_$1" "included by $who"; fi
}
lib_owner csv.h src/csvread.c
lib_owner yaml.h src/config.c
lib_owner xlsxwriter.h src/report.c
lib_owner sqlite3.h src/store.c
lib_owner openssl/evp.h src/ingest.c

# only main exits
ex=$(grep -nE '\b(exit|_exit|abort)[[:space:]]*\(' src/*.c | grep -v '^src/main.c' || true)
if [ -z "$ex" ]; then ok only_main_exits; else fail only_main_exits "$ex"; fi
