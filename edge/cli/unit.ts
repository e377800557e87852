// systemd/edgecore.service, embedded so that a compiled edgecore can install it without the source tree.
// tests/ship_test.ts checks that this copy equals the file; change both together.

/** Where `edgecore join --install` writes the unit (under --root). */
export const EDGECORE_UNIT_PATH = "/etc/systemd/system/edgecore.service";
export const EDGECORE_UNIT_NAME = "edgecore.service";

export const EDGECORE_UNIT =
  `# kedge edgecore: the agent that makes this box a Kubernetes node (KubeEdge-compatible).
# Installed by \`make install\` or \`edgecore join --install\`; the binary comes from \`make build\`.
[Unit]
Description=kedge edgecore (edge node agent)
Documentation=https://kubeedge.io/docs/
Wants=network-online.target containerd.service
After=network-online.target containerd.service

[Service]
Type=simple
ExecStart=/usr/local/bin/edgecore run --config /etc/kubeedge/config/edgecore.yaml
Restart=always
RestartSec=5
# 78 (EX_CONFIG): the config file is wrong; restarting cannot fix it.
RestartPreventExitStatus=78
# Only edgecore itself is stopped on restart: containers belong to containerd, and a stop must never
# reach them (KubeEdge #4578: containers killed when edgecore restarts).
KillMode=process
TimeoutStopSec=30
StateDirectory=kubeedge
StateDirectoryMode=0700
ConfigurationDirectory=kubeedge
LimitNOFILE=65536
# glibc returns freed memory to the system past 64 KiB (edgecore also sets it at start, later than this).
Environment=MALLOC_TRIM_THRESHOLD_=65536
# Hardening that still lets it work: it needs root for the containerd socket, CNI and volume mounts,
# and writes its certificates on rotation under /etc/kubeedge.
NoNewPrivileges=yes
ProtectSystem=full
ReadWritePaths=/etc/kubeedge
PrivateTmp=yes
ProtectKernelModules=yes
LockPersonality=yes
RestrictRealtime=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`;
