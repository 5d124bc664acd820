/* main.c - carerecon's entry point: everything happens in cli.c. */
#include "cli.h"

int main(int argc, char **argv)
{
    return cr_cli_main(argc, argv);
}
