/*
 * The control socket's requests, answered on one VM; see control_vm.h and
 * docs/control-protocol.md. Runs on the VM's event loop thread.
 *
 * balloon-stats is the one request answered later: the balloon hands the
 * driver its statistics buffer back, and the answer goes out when the
 * refill arrives (the balloon's listener, which runs under the device
 * lock, only writes an eventfd: the answers are sent from the loop with no
 * lock held) or when CONTROL_VM_STATS_TIMEOUT_MS passes.
 */
#include "control/control_vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "control/agent_vm.h"
#include "control/control_server.h"
#include "control/control_vm_json.h"
#include "devices/virtio_balloon/virtio_balloon.h"
#include "vm/vm.h"

struct control_vm {
	struct vm *vm;
	struct control_server srv;
	struct control_call *stats_waiting[CONTROL_MAX_CONNS];
	unsigned int num_waiting;
	int stats_event_fd; /* the balloon's listener: fresh statistics */
	int stats_timer_fd; /* the deadline for the waiting calls */
	bool fds_watched;
	bool powerdown_requested;
	const char *exit_reason; /* set by quit and reset; NULL: the guest's doing */
	struct agent_vm *agent;	 /* the guest agent endpoint; NULL: no channel */
};

/* ---- balloon statistics ---- */

static void answer_stats_waiting(struct control_vm *cv)
{
	struct control_call *calls[CONTROL_MAX_CONNS];
	unsigned int n = cv->num_waiting;
	struct virtio_balloon_info info;
	const struct itimerspec off = { 0 };

	if (n == 0)
		return;
	/*
	 * Answering lets a client's next request in, maybe another
	 * balloon-stats that must wait for newer numbers: empty the list first.
	 */
	memcpy(calls, cv->stats_waiting, n * sizeof(calls[0]));
	cv->num_waiting = 0;
	timerfd_settime(cv->stats_timer_fd, 0, &off, NULL);
	virtio_balloon_get_info(cv->vm->balloon, &info);
	for (unsigned int i = 0; i < n; i++)
		control_call_return(calls[i], control_vm_json_balloon(cv->vm, &info));
}

static void on_stats_event(void *opaque, uint32_t events)
{
	struct control_vm *cv = opaque;
	uint64_t n;

	(void)events;
	if (read(cv->stats_event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("control: stats eventfd: %s", strerror(errno));
	answer_stats_waiting(cv);
}

static void on_stats_timer(void *opaque, uint32_t events)
{
	struct control_vm *cv = opaque;
	uint64_t n;

	(void)events;
	if (read(cv->stats_timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("control: stats timer: %s", strerror(errno));
	if (cv->num_waiting)
		log_debug("control: the guest did not refresh its balloon statistics in time");
	answer_stats_waiting(cv);
}

/* Under the balloon's lock: only wake the loop. */
static void on_balloon_stats(void *opaque, const struct virtio_balloon_info *info)
{
	struct control_vm *cv = opaque;
	uint64_t one = 1;

	(void)info;
	if (write(cv->stats_event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("control: stats eventfd: %s", strerror(errno));
}

static void balloon_stats(struct control_vm *cv, struct control_call *call)
{
	struct itimerspec t = { .it_value.tv_sec = CONTROL_VM_STATS_TIMEOUT_MS / 1000,
				.it_value.tv_nsec = (CONTROL_VM_STATS_TIMEOUT_MS % 1000) * 1000000L };
	struct virtio_balloon_info info;

	if (cv->num_waiting < CONTROL_MAX_CONNS &&
	    virtio_balloon_request_stats(cv->vm->balloon) == 0) {
		if (cv->num_waiting == 0 && timerfd_settime(cv->stats_timer_fd, 0, &t, NULL) < 0)
			log_warn("control: stats timer: %s", strerror(errno));
		cv->stats_waiting[cv->num_waiting++] = call;
		return;
	}
	/* No fresh numbers to wait for: what there is. */
	virtio_balloon_get_info(cv->vm->balloon, &info);
	control_call_return(call, control_vm_json_balloon(cv->vm, &info));
}

/* ---- requests ---- */

static void balloon(struct control_vm *cv, struct control_call *call,
		    const struct control_request *req)
{
	uint64_t ram = guest_mem_size(&cv->vm->mem), bytes = req->balloon.bytes;

	if (bytes > ram) {
		control_call_error(call, CONTROL_ERR_GENERIC,
				   "%s %llu is more than the guest's %llu bytes of RAM",
				   req->balloon.is_target ? "value" : "num_bytes",
				   (unsigned long long)bytes, (unsigned long long)ram);
		return;
	}
	if (req->balloon.is_target && bytes == 0) {
		control_call_error(call, CONTROL_ERR_GENERIC, "value must be more than 0");
		return;
	}
	if (req->balloon.is_target)
		bytes = ram - bytes;
	log_info("control: balloon target %llu MiB (guest memory %llu MiB)",
		 (unsigned long long)(bytes / MiB), (unsigned long long)((ram - bytes) / MiB));
	virtio_balloon_set_target(cv->vm->balloon, (uint32_t)(bytes / VIRTIO_BALLOON_PAGE_SIZE));
	control_call_return(call, NULL);
}

static void powerdown(struct control_vm *cv, struct control_call *call)
{
	int err = arch_power_button(cv->vm);

	if (err) {
		control_call_error(call, CONTROL_ERR_GENERIC, "cannot press the power button: %s",
				   strerror(-err));
		return;
	}
	log_info("control: power button pressed by pid %d", (int)call->peer_pid);
	cv->powerdown_requested = true;
	control_call_return(call, NULL);
	control_server_event(&cv->srv, "POWERDOWN", NULL);
}

static void pause_vm(struct control_vm *cv, struct control_call *call)
{
	int err;

	if (vm_is_paused(cv->vm)) {
		control_call_return(call, NULL);
		return;
	}
	err = vm_pause(cv->vm, CONTROL_VM_PAUSE_TIMEOUT_MS);
	if (err) {
		control_call_error(call, CONTROL_ERR_GENERIC, "cannot pause: %s",
				   err == -ETIMEDOUT ? "the vCPUs did not stop in time (still trying)"
						     : strerror(-err));
		return;
	}
	log_info("control: vCPUs paused");
	control_call_return(call, NULL);
	control_server_event(&cv->srv, "STOP", NULL);
}

static void resume_vm(struct control_vm *cv, struct control_call *call)
{
	bool was_paused = vm_is_paused(cv->vm);

	vm_resume(cv->vm);
	control_call_return(call, NULL);
	if (was_paused) {
		log_info("control: vCPUs resumed");
		control_server_event(&cv->srv, "RESUME", NULL);
	}
}

/* quit and reset: the answer first, then the end of the VM. */
static void end_vm(struct control_vm *cv, struct control_call *call, enum vm_exit_status status,
		   const char *reason)
{
	log_info("control: %s requested by pid %d", status == VM_EXIT_RESET ? "reset" : "stop",
		 (int)call->peer_pid);
	cv->exit_reason = reason;
	control_call_return(call, NULL);
	vm_request_exit(cv->vm, status);
}

static bool needs_balloon(struct control_vm *cv, struct control_call *call)
{
	if (cv->vm->balloon)
		return true;
	control_call_error(call, CONTROL_ERR_DEVICE_NOT_FOUND,
			   "this VM has no balloon device (it was started with --no-balloon)");
	return false;
}

static void on_request(void *opaque, struct control_call *call, const struct control_request *req)
{
	struct control_vm *cv = opaque;

	switch (req->cmd) {
	case CONTROL_CMD_CAPABILITIES:
		control_call_return(call, NULL);
		break;
	case CONTROL_CMD_STATUS:
		control_call_return(call, control_vm_json_status(cv->vm, cv->powerdown_requested));
		break;
	case CONTROL_CMD_QUIT:
		end_vm(cv, call, VM_EXIT_POWEROFF, "host-quit");
		break;
	case CONTROL_CMD_RESET:
		end_vm(cv, call, VM_EXIT_RESET, "host-reset");
		break;
	case CONTROL_CMD_POWERDOWN:
		powerdown(cv, call);
		break;
	case CONTROL_CMD_PAUSE:
		pause_vm(cv, call);
		break;
	case CONTROL_CMD_RESUME:
		resume_vm(cv, call);
		break;
	case CONTROL_CMD_BALLOON:
		if (needs_balloon(cv, call))
			balloon(cv, call, req);
		break;
	case CONTROL_CMD_BALLOON_STATS:
		if (needs_balloon(cv, call))
			balloon_stats(cv, call);
		break;
	case CONTROL_CMD_AGENT:
		agent_vm_request(cv->agent, call, req);
		break;
	case CONTROL_CMD_COUNT:
		control_call_error(call, CONTROL_ERR_GENERIC, "no such command");
		break;
	}
}

static const struct control_server_ops server_ops = { .request = on_request };

/* ---- life cycle ---- */

static int watch_fds(struct control_vm *cv)
{
	struct event_loop *loop = &cv->vm->loop;
	int err;

	cv->stats_event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cv->stats_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (cv->stats_event_fd < 0 || cv->stats_timer_fd < 0)
		return -errno;
	err = event_loop_add(loop, cv->stats_event_fd, EPOLLIN, on_stats_event, cv);
	if (err)
		return err;
	err = event_loop_add(loop, cv->stats_timer_fd, EPOLLIN, on_stats_timer, cv);
	if (err) {
		event_loop_remove(loop, cv->stats_event_fd);
		return err;
	}
	cv->fds_watched = true;
	return 0;
}

static void free_cv(struct control_vm *cv)
{
	agent_vm_free(cv->agent);
	if (cv->fds_watched) {
		event_loop_remove(&cv->vm->loop, cv->stats_event_fd);
		event_loop_remove(&cv->vm->loop, cv->stats_timer_fd);
	}
	if (cv->stats_event_fd >= 0)
		close(cv->stats_event_fd);
	if (cv->stats_timer_fd >= 0)
		close(cv->stats_timer_fd);
	free(cv);
}

int control_vm_start(struct vm *vm)
{
	struct control_vm *cv;
	int err;

	if (!vm->cfg->socket_path)
		return 0;
	cv = calloc(1, sizeof(*cv));
	if (!cv)
		return -ENOMEM;
	cv->vm = vm;
	cv->stats_event_fd = cv->stats_timer_fd = -1;
	err = watch_fds(cv);
	if (err)
		log_error("control socket: cannot set up its timers: %s", strerror(-err));
	if (!err) {
		err = agent_vm_new(vm, &cv->agent);
		if (err)
			log_error("control socket: cannot set up the guest agent endpoint: %s",
				  strerror(-err));
	}
	if (!err)
		err = control_server_open(&cv->srv, vm->cfg->socket_path, &vm->loop, &server_ops,
					  cv, vm->cfg->name);
	if (err) {
		free_cv(cv);
		return err;
	}
	if (vm->balloon)
		virtio_balloon_set_stats_listener(vm->balloon, on_balloon_stats, cv);
	vm->control = cv;
	return 0;
}

void control_vm_stop(struct vm *vm)
{
	struct control_vm *cv = vm->control;

	if (!cv)
		return;
	if (vm->balloon)
		virtio_balloon_set_stats_listener(vm->balloon, NULL, NULL);
	while (cv->num_waiting > 0)
		control_call_error(cv->stats_waiting[--cv->num_waiting], CONTROL_ERR_GENERIC,
				   "the VM is shutting down");
	agent_vm_free(cv->agent);
	cv->agent = NULL;
	control_server_close(&cv->srv, "SHUTDOWN",
			     control_vm_json_shutdown(vm->exit_status, cv->exit_reason));
	free_cv(cv);
	vm->control = NULL;
}
