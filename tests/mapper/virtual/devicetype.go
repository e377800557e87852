// The virtual device's types for KubeEdge's mapper-framework _template (tests/mapper/build.sh copies this file
// over the template's driver/devicetype.go). Protocol name "virtual".
package driver

import (
	"encoding/json"
	"sync"

	"github.com/kubeedge/mapper-framework/pkg/common"
)

// CustomizedDev is the customized device configuration and client information.
type CustomizedDev struct {
	Instance         common.DeviceInstance
	CustomizedClient *CustomizedClient
}

// CustomizedClient holds the virtual device: one value per visitor key.
type CustomizedClient struct {
	deviceMutex sync.Mutex
	values      map[string]interface{}
	ProtocolConfig
}

type ProtocolConfig struct {
	ProtocolName string `json:"protocolName"`
	ConfigData   `json:"configData"`
}

// ConfigData of the virtual protocol: `state` is what GetDeviceStates reports (default "ok").
type ConfigData struct {
	State string `json:"state"`
}

type VisitorConfig struct {
	ProtocolName      string `json:"protocolName"`
	VisitorConfigData `json:"configData"`
}

// VisitorConfigData names the value (`key`), its first value (`initial`) and how much each read adds (`step`,
// 0 = a plain register that keeps what was written).
type VisitorConfigData struct {
	DataType string  `json:"dataType"`
	Key      string  `json:"key"`
	Initial  string  `json:"initial"`
	Step     float64 `json:"step"`
}

type AnomalyDetectionRequest struct {
	Enabled                bool            `json:"enabled"`
	VisitorConfig          VisitorConfig   `json:"visitorConfig"`
	AnomalyDetectionConfig json.RawMessage `json:"anomalyDetectionConfig"`
	Data                   interface{}     `json:"data"`
}
