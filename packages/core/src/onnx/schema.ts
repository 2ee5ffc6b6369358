/**
 * The ONNX protobuf schema (onnx.proto, proto2, IR version 11) as a protobufjs JSON descriptor.
 *
 * protobufjs drops every field its schema does not know, so this descriptor must cover the whole current IR for
 * the round trip to be faithful. Field numbers are ONNX's; names are camelCase as protobufjs exposes them.
 * Repeated scalars follow onnx.proto: packed only where onnx.proto says `[packed = true]`.
 */
type FieldDef = { type: string; id: number; rule?: 'repeated'; options?: { packed: boolean } };
type TypeDef = { fields: Record<string, FieldDef>; nested?: Record<string, TypeDef> };

const one = (type: string, id: number): FieldDef => ({ type, id });
const many = (type: string, id: number): FieldDef => {
  const scalar = /^(u?int(32|64)|s?fixed(32|64)|sint(32|64)|float|double|bool)$/.test(type);
  return scalar ? { type, id, rule: 'repeated', options: { packed: false } } : { type, id, rule: 'repeated' };
};
const packed = (type: string, id: number): FieldDef => ({ type, id, rule: 'repeated', options: { packed: true } });

const types: Record<string, TypeDef> = {
  StringStringEntryProto: { fields: { key: one('string', 1), value: one('string', 2) } },
  OperatorSetIdProto: { fields: { domain: one('string', 1), version: one('int64', 2) } },
  TensorAnnotation: {
    fields: { tensorName: one('string', 1), quantParameterTensorNames: many('StringStringEntryProto', 2) },
  },
  DeviceConfigurationProto: {
    fields: { name: one('string', 1), numDevices: one('int32', 2), device: many('string', 3) },
  },
  SimpleShardedDimProto: {
    fields: { dimValue: one('int64', 1), dimParam: one('string', 2), numShards: one('int64', 3) },
  },
  ShardedDimProto: { fields: { axis: one('int64', 1), simpleSharding: many('SimpleShardedDimProto', 2) } },
  IntIntListEntryProto: { fields: { key: one('int64', 1), value: many('int64', 2) } },
  ShardingSpecProto: {
    fields: {
      tensorName: one('string', 1),
      device: many('int64', 2),
      indexToDeviceGroupMap: many('IntIntListEntryProto', 3),
      shardedDim: many('ShardedDimProto', 4),
    },
  },
  NodeDeviceConfigurationProto: {
    fields: {
      configurationId: one('string', 1),
      shardingSpec: many('ShardingSpecProto', 2),
      pipelineStage: one('int32', 3),
    },
  },
  AttributeProto: {
    fields: {
      name: one('string', 1),
      f: one('float', 2),
      i: one('int64', 3),
      s: one('bytes', 4),
      t: one('TensorProto', 5),
      g: one('GraphProto', 6),
      floats: many('float', 7),
      ints: many('int64', 8),
      strings: many('bytes', 9),
      tensors: many('TensorProto', 10),
      graphs: many('GraphProto', 11),
      docString: one('string', 13),
      tp: one('TypeProto', 14),
      typeProtos: many('TypeProto', 15),
      type: one('int32', 20),
      refAttrName: one('string', 21),
      sparseTensor: one('SparseTensorProto', 22),
      sparseTensors: many('SparseTensorProto', 23),
    },
  },
  ValueInfoProto: {
    fields: {
      name: one('string', 1),
      type: one('TypeProto', 2),
      docString: one('string', 3),
      metadataProps: many('StringStringEntryProto', 4),
    },
  },
  NodeProto: {
    fields: {
      input: many('string', 1),
      output: many('string', 2),
      name: one('string', 3),
      opType: one('string', 4),
      attribute: many('AttributeProto', 5),
      docString: one('string', 6),
      domain: one('string', 7),
      overload: one('string', 8),
      metadataProps: many('StringStringEntryProto', 9),
      deviceConfigurations: many('NodeDeviceConfigurationProto', 10),
    },
  },
  TrainingInfoProto: {
    fields: {
      initialization: one('GraphProto', 1),
      algorithm: one('GraphProto', 2),
      initializationBinding: many('StringStringEntryProto', 3),
      updateBinding: many('StringStringEntryProto', 4),
    },
  },
  ModelProto: {
    fields: {
      irVersion: one('int64', 1),
      producerName: one('string', 2),
      producerVersion: one('string', 3),
      domain: one('string', 4),
      modelVersion: one('int64', 5),
      docString: one('string', 6),
      graph: one('GraphProto', 7),
      opsetImport: many('OperatorSetIdProto', 8),
      metadataProps: many('StringStringEntryProto', 14),
      trainingInfo: many('TrainingInfoProto', 20),
      functions: many('FunctionProto', 25),
      configuration: many('DeviceConfigurationProto', 26),
    },
  },
  GraphProto: {
    fields: {
      node: many('NodeProto', 1),
      name: one('string', 2),
      initializer: many('TensorProto', 5),
      docString: one('string', 10),
      input: many('ValueInfoProto', 11),
      output: many('ValueInfoProto', 12),
      valueInfo: many('ValueInfoProto', 13),
      quantizationAnnotation: many('TensorAnnotation', 14),
      sparseInitializer: many('SparseTensorProto', 15),
      metadataProps: many('StringStringEntryProto', 16),
    },
  },
  TensorProto: {
    fields: {
      dims: many('int64', 1),
      dataType: one('int32', 2),
      segment: one('Segment', 3),
      floatData: packed('float', 4),
      int32Data: packed('int32', 5),
      stringData: many('bytes', 6),
      int64Data: packed('int64', 7),
      name: one('string', 8),
      rawData: one('bytes', 9),
      doubleData: packed('double', 10),
      uint64Data: packed('uint64', 11),
      docString: one('string', 12),
      externalData: many('StringStringEntryProto', 13),
      dataLocation: one('int32', 14),
      metadataProps: many('StringStringEntryProto', 16),
    },
    nested: { Segment: { fields: { begin: one('int64', 1), end: one('int64', 2) } } },
  },
  SparseTensorProto: {
    fields: { values: one('TensorProto', 1), indices: one('TensorProto', 2), dims: many('int64', 3) },
  },
  TensorShapeProto: {
    fields: { dim: many('Dimension', 1) },
    nested: {
      Dimension: { fields: { dimValue: one('int64', 1), dimParam: one('string', 2), denotation: one('string', 3) } },
    },
  },
  TypeProto: {
    fields: {
      tensorType: one('Tensor', 1),
      sequenceType: one('Sequence', 4),
      mapType: one('Map', 5),
      denotation: one('string', 6),
      opaqueType: one('Opaque', 7),
      sparseTensorType: one('SparseTensor', 8),
      optionalType: one('Optional', 9),
    },
    nested: {
      Tensor: { fields: { elemType: one('int32', 1), shape: one('TensorShapeProto', 2) } },
      Sequence: { fields: { elemType: one('TypeProto', 1) } },
      Map: { fields: { keyType: one('int32', 1), valueType: one('TypeProto', 2) } },
      Optional: { fields: { elemType: one('TypeProto', 1) } },
      SparseTensor: { fields: { elemType: one('int32', 1), shape: one('TensorShapeProto', 2) } },
      Opaque: { fields: { domain: one('string', 1), name: one('string', 2) } },
    },
  },
  FunctionProto: {
    fields: {
      name: one('string', 1),
      input: many('string', 4),
      output: many('string', 5),
      attribute: many('string', 6),
      node: many('NodeProto', 7),
      docString: one('string', 8),
      opsetImport: many('OperatorSetIdProto', 9),
      domain: one('string', 10),
      attributeProto: many('AttributeProto', 11),
      valueInfo: many('ValueInfoProto', 12),
      overload: one('string', 13),
      metadataProps: many('StringStringEntryProto', 14),
    },
  },
};

export const onnxSchema = { nested: { onnx: { nested: types } } };
