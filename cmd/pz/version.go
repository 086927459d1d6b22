package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"pz/export/ort"
)

// ortFlags are the flags that choose the ONNX Runtime library and device;
// every command that runs graphs takes them. The library is found by
// --ort-lib, then $PZ_ORT_LIB, then the cache of scripts/setup-ort.sh
// (scripts/setup-ort-cuda.sh for --device cuda).
func ortFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ort-lib", Usage: "path of libonnxruntime.so (default: $" + ort.LibraryEnv + ", then .cache/ort)"},
		// PZ_DEVICE is read by ort.ResolveDevice, so errors name the right source.
		&cli.StringFlag{Name: "device", Usage: "cpu or cuda (default: $" + ort.DeviceEnv + ", then cpu; cuda needs scripts/setup-ort-cuda.sh)"},
	}
}

// ortOptions copies the ORT flags into ort.Options, resolving the library
// and device in the documented order.
func ortOptions(c *cli.Context) (ort.Options, error) {
	device, err := ort.ResolveDevice(c.String("device"))
	if err != nil {
		return ort.Options{}, err
	}
	lib, err := ort.FindDeviceLibrary(device, c.String("ort-lib"))
	if err != nil {
		return ort.Options{}, err
	}
	return ort.Options{LibraryPath: lib, Device: device}, nil
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print pz's version and the ONNX Runtime version it loads",
		Flags: append(ortFlags(),
			&cli.BoolFlag{Name: "probe", Usage: "also load and run a one-node graph on the device"}),
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "pz %s\n", version)
			opts, err := ortOptions(c)
			if err != nil {
				return err
			}
			rt, err := ort.Init(opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "onnxruntime %s (%s, device %s)\n", rt.Version(), rt.LibraryPath(), rt.Device())
			if c.Bool("probe") && rt.Device() == ort.DeviceCUDA {
				// Provider, GPU and CUDA versions, then the first problem.
				r := rt.ProbeCUDA(c.Context, 0)
				for _, l := range r.Lines() {
					fmt.Fprintln(c.App.Writer, l)
				}
				if r.Err != nil {
					return r.Err
				}
				fmt.Fprintf(c.App.Writer, "probe ok on %s\n", rt.Device())
				return nil
			}
			if c.Bool("probe") {
				if err := rt.Probe(c.Context, ""); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "probe ok on %s\n", rt.Device())
			}
			return nil
		},
	}
}
