// The virtual device's driver for KubeEdge's mapper-framework _template (tests/mapper/build.sh copies this file
// over the template's driver/driver.go). Values live in memory; every call is logged with klog so that a test
// can see what the mapper was given ("virtual device ...").
package driver

import (
	"fmt"
	"strconv"
	"sync"

	"k8s.io/klog/v2"

	"github.com/kubeedge/mapper-framework/pkg/common"
)

func NewClient(protocol ProtocolConfig) (*CustomizedClient, error) {
	return &CustomizedClient{ProtocolConfig: protocol, deviceMutex: sync.Mutex{}, values: map[string]interface{}{}}, nil
}

func (c *CustomizedClient) InitDevice() error {
	klog.Infof("virtual device init protocol=%s", c.ProtocolName)
	return nil
}

func key(visitor *VisitorConfig) string {
	if visitor.Key != "" {
		return visitor.Key
	}
	return "value"
}

func (c *CustomizedClient) GetDeviceData(visitor *VisitorConfig) (interface{}, error) {
	c.deviceMutex.Lock()
	defer c.deviceMutex.Unlock()
	k := key(visitor)
	value, ok := c.values[k]
	if !ok {
		value = visitor.Initial
	}
	if visitor.Step != 0 {
		n, err := strconv.ParseFloat(fmt.Sprint(value), 64)
		if err != nil {
			n = 0
		}
		value = strconv.FormatFloat(n+visitor.Step, 'f', -1, 64)
	}
	c.values[k] = value
	return value, nil
}

func (c *CustomizedClient) DeviceDataWrite(visitor *VisitorConfig, deviceMethodName string, propertyName string, data interface{}) error {
	klog.Infof("virtual device write method=%s property=%s value=%v", deviceMethodName, propertyName, data)
	return c.SetDeviceData(data, visitor)
}

func (c *CustomizedClient) SetDeviceData(data interface{}, visitor *VisitorConfig) error {
	c.deviceMutex.Lock()
	defer c.deviceMutex.Unlock()
	if data == nil || data == "" {
		return nil
	}
	klog.Infof("virtual device set key=%s value=%v", key(visitor), data)
	c.values[key(visitor)] = fmt.Sprint(data)
	return nil
}

func (c *CustomizedClient) StopDevice() error {
	klog.Infof("virtual device stop")
	return nil
}

func (c *CustomizedClient) GetDeviceStates() (string, error) {
	if c.State != "" {
		return c.State, nil
	}
	return common.DeviceStatusOK, nil
}

func (c *CustomizedClient) AnomalyDetectionProcess(req *AnomalyDetectionRequest) error {
	return nil
}
