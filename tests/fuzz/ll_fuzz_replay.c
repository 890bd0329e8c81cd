/*
 * ll_fuzz_replay: runs one harness (linked in) once over every file named
 * on the command line or found in a named directory: the committed seed
 * corpus and regressions/ inputs. Built with the project's own compiler
 * and sanitizer options, so the inputs that once crashed a harness are
 * replayed on every build, with or without clang. Fails if it ran nothing.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ll_fuzz.h"

static int run_file(const char *path)
{
    struct stat sb;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &sb)) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    /* An exact-size buffer, so that the sanitizers see reads past the end. */
    size_t len = (size_t)sb.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf || fread(buf, 1, len, f) != len) {
        perror(path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int run_path(const char *path, unsigned *count)
{
    struct stat sb;
    if (stat(path, &sb))
        return 0; /* an absent regressions/ directory is fine */
    if (!S_ISDIR(sb.st_mode)) {
        if (run_file(path))
            return -1;
        (*count)++;
        return 0;
    }
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        rc = run_path(p, count);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &count))
            return 1;
    printf("%s: %u inputs replayed\n", argv[0], count);
    return count ? 0 : 1;
}
