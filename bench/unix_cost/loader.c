/* loader.c — loads the named programs of a BPF object, attaches them, prints "attached", waits for a signal (bench/unix_syscall_cost.sh). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: loader OBJ PROGRAM...\n");
        return 2;
    }
    struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
    if (!o) {
        perror(argv[1]);
        return 1;
    }
    struct bpf_program *p;
    bpf_object__for_each_program(p, o) {
        bool want = false;
        for (int i = 2; i < argc; i++)
            want = want || !strcmp(argv[i], bpf_program__name(p));
        bpf_program__set_autoload(p, want);
    }
    if (bpf_object__load(o)) {
        perror("load");
        return 1;
    }
    bpf_object__for_each_program(p, o)
        if (bpf_program__autoload(p) && !bpf_program__attach(p)) {
            fprintf(stderr, "cannot attach %s\n", bpf_program__name(p));
            return 1;
        }
    printf("attached\n");
    fflush(stdout);
    pause();
    bpf_object__close(o);
    return 0;
}
