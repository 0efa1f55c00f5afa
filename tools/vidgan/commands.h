/* The CLI's subcommands; each returns the process exit code. */
#ifndef VG_CLI_COMMANDS_H
#define VG_CLI_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_evaluator(int argc, char **argv);

#endif
