/* Run-time choice of the hypervisor backend; see hv.h. */
#include "hv/hv.h"

#include <string.h>

static const struct hv_ops *const backends[] = {
	&hv_kvm_ops,
};

const struct hv_ops *hv_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const char *hv_supported_names(void)
{
	return "kvm";
}
