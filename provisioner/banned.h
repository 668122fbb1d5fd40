#ifndef HP_BANNED_H
#define HP_BANNED_H
/*
 * Functions we never call, as git's banned.h does: unbounded copies and
 * formatting, and calls that are not thread-safe (hosts run in parallel).
 * Use hp_buf_addf(), xstrdup(), hp_strerror() instead.
 */
#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef strerror
#define strerror(x) BANNED(strerror)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)

#endif
