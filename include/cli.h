/*
 * cli.h - the command line of carerecon (SPEC section 5).
 */
#ifndef CR_CLI_H
#define CR_CLI_H

/* Runs the command named by ARGV and returns the process exit status. */
int cr_cli_main(int argc, char **argv);

#endif
