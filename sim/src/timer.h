/* Deadlines kept in a min-heap and served by one thread, which calls each
 * one's function when it is due: the simulator's latency delays answers
 * with these instead of sleeping in the thread that serves connections
 * (http.c suspends the connection and a deadline resumes it). */
#ifndef SIM_TIMER_H
#define SIM_TIMER_H

#include <stdint.h>

struct timer;

/* Starts the thread; NULL when it cannot. */
struct timer *timer_start(void);
/* Calls fn(arg) on the timer's thread delay_ms milliseconds from now (no
 * sooner); deadlines that fall due together run in the order they were
 * added. fn runs without the timer's lock held and must be short. */
void timer_after(struct timer *t, int64_t delay_ms, void (*fn)(void *arg),
                 void *arg);
/* Calls every function still pending at once (in deadline order), then
 * stops the thread and frees t. NULL does nothing. */
void timer_stop(struct timer *t);

#endif
