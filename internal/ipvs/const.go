package ipvs

// Constants of the IPVS generic-netlink API (include/uapi/linux/ip_vs.h).

const (
	familyName    = "IPVS"
	familyVersion = 1
)

// Commands (enum IPVS_CMD_*).
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdSetInfo    = 14 // reply to cmdGetInfo
	cmdGetInfo    = 15
	cmdZero       = 16
	cmdFlush      = 17
)

// Top-level attributes (IPVS_CMD_ATTR_*).
const (
	cmdAttrService       = 1
	cmdAttrDest          = 2
	cmdAttrDaemon        = 3
	cmdAttrTimeoutTCP    = 4
	cmdAttrTimeoutTCPFin = 5
	cmdAttrTimeoutUDP    = 6
)

// GET_INFO reply attributes (IPVS_INFO_ATTR_*); they reuse ids 1 and 2.
const (
	infoAttrVersion       = 1
	infoAttrConnTableSize = 2
)

// Service attributes (IPVS_SVC_ATTR_*).
const (
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12
)

// Destination attributes (IPVS_DEST_ATTR_*).
const (
	destAttrAddr         = 1
	destAttrPort         = 2
	destAttrFwdMethod    = 3
	destAttrWeight       = 4
	destAttrUThresh      = 5
	destAttrLThresh      = 6
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrAddrFamily   = 11
	destAttrStats64      = 12
	destAttrTunType      = 13
	destAttrTunPort      = 14
	destAttrTunFlags     = 15
)

// Sync daemon attributes (IPVS_DAEMON_ATTR_*).
const (
	daemonAttrState      = 1
	daemonAttrMcastIfn   = 2
	daemonAttrSyncID     = 3
	daemonAttrSyncMaxLen = 4
	daemonAttrMcastGroup = 5
	daemonAttrMcastGrp6  = 6
	daemonAttrMcastPort  = 7
	daemonAttrMcastTTL   = 8
)

// Statistics attributes (IPVS_STATS_ATTR_*), shared by STATS and STATS64.
const (
	statsAttrConns    = 1
	statsAttrInPkts   = 2
	statsAttrOutPkts  = 3
	statsAttrInBytes  = 4
	statsAttrOutBytes = 5
	statsAttrCPS      = 6
	statsAttrInPPS    = 7
	statsAttrOutPPS   = 8
	statsAttrInBPS    = 9
	statsAttrOutBPS   = 10
	statsAttrPad      = 11
)

// Limits the kernel enforces on names (IP_VS_SCHEDNAME_MAXLEN and friends,
// terminating NUL included).
const (
	schedNameMaxLen = 16
	peNameMaxLen    = 17 // the PE name may use all 16 bytes
	ifNameMaxLen    = 16
)

// addrLen is the size of union nf_inet_addr: addresses always travel as 16
// bytes, IPv4 in the first four.
const addrLen = 16
